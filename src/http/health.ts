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
    const results = await Promise.all(
      checks.map(async ({ name, check }) => {
        const started = Date.now();
        try {
          await withDeadline(check(), timeoutMs, `${name} did not answer within ${timeoutMs} ms`);
          return [name, { ok: true, ms: Date.now() - started }] as const;
        } catch (error) {
          return [name, { ok: false, ms: Date.now() - started, error: (error as Error).message || String(error) }] as const;
        }
      }),
    );
    const failed = results.filter(([, r]) => !r.ok).map(([name]) => name);
    res.status(failed.length ? 503 : 200).json({
      status: failed.length ? 'unavailable' : 'ready',
      ...(failed.length ? { failed } : {}),
      checks: Object.fromEntries(results),
    });
  });
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
