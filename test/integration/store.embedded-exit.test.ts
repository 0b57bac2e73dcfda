import { spawnSync } from 'node:child_process';
import { mkdtempSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.ts';

/**
 * A process that started (and stopped) an embedded PostgreSQL keeps its own exit code. The
 * library's exit hook used to end such a process with process.exit(0) on beforeExit, so a failed
 * CLI command, or `npm test` with failing tests, exited 0, and CI could not fail.
 */
describe('embedded PostgreSQL and the exit code', () => {
  it('leaves the exit code of the process that used it as that process set it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'turnover-exit-'));
    chmodSync(dir, 0o755); // the server runs as the postgres user when we are root
    const script = `
      import { startEmbeddedPostgres } from './src/store/database.ts';
      import { createLogger } from './src/log.ts';
      const db = await startEmbeddedPostgres({ dir: ${JSON.stringify(path.join(dir, 'data'))}, database: 'postgres', logger: createLogger('silent') });
      await db.stop();
      process.exitCode = 3;`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).not.toMatch(/TypeError/);
    expect(child.status, child.stderr).toBe(3);
  }, 90_000);
});
