import { readinessCheckOk } from '../metrics.ts';
import type { Router } from 'express';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

/**
 * /healthz: the process is up and serving (for restarts). /readyz: the database and the queue
 * backend answer (for load balancers); 503 names the one that failed.
 */
export function mountHealth(router: Router, checks: ReadinessCheck[], timeoutMs = 2500): void {
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const results = await runReadiness(checks, timeoutMs);
    const failed = results.filter(([, r]) => !r.ok).map(([name]) => name);
    res.status(failed.length ? 503 : 200).json({
      status: failed.length ? 'unavailable' : 'ready',
      ...(failed.length ? { failed } : {}),
      checks: Object.fromEntries(results),
    });
  });
}

type CheckResult = { ok: boolean; ms: number; error?: string };

/** Runs every check at once, each within `timeoutMs`; also sets turnover_readiness_check_ok for /metrics. */
export async function runReadiness(checks: ReadinessCheck[], timeoutMs = 2500): Promise<Array<readonly [string, CheckResult]>> {
  return Promise.all(
    checks.map(async ({ name, check }) => {
      const started = Date.now();
      let result: CheckResult;
      try {
        await withDeadline(check(), timeoutMs, `${name} did not answer within ${timeoutMs} ms`);
        result = { ok: true, ms: Date.now() - started };
      } catch (error) {
        result = { ok: false, ms: Date.now() - started, error: (error as Error).message || String(error) };
      }
      readinessCheckOk.set({ check: name }, result.ok ? 1 : 0);
      return [name, result] as const;
    }),
  );
}

function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
