import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, ROOT } from './cli.ts';

export interface ServiceProcess {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/**
 * Starts `turnover <command>` as a long-running child process. `ownGroup`: in a process group of
 * its own, as a terminal runs it, so a test can signal the whole group as Ctrl-C does.
 */
export function startService(command: string, env: Record<string, string | undefined>, { ownGroup = false } = {}): ServiceProcess {
  const child = spawn(process.execPath, [BIN, command], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: ownGroup,
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Polls a URL until it answers 200; returns the milliseconds it took. */
export async function waitFor200(url: string, timeoutMs = 60_000, service?: ServiceProcess): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (service && service.child.exitCode !== null) throw new Error(`service exited early:\n${service.output()}`);
    try {
      if ((await fetch(url)).status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms\n${service?.output() ?? ''}`);
}
