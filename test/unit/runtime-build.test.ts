import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.ts';

/**
 * The runtime image's JavaScript, built as the Dockerfile builds it (tsconfig.build.json): it runs
 * without tsx, and it imports only production dependencies, so `npm ci --omit=dev` is enough.
 */
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
let app: string;

beforeAll(() => {
  app = fs.mkdtempSync(path.join(os.tmpdir(), 'turnover-image-'));
  const out = path.join(app, 'build');
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', out], { encoding: 'utf8' });
  expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  // The image's layout: compiled src/jobs/config where the sources would be, no TypeScript.
  for (const dir of ['src', 'jobs', 'config']) fs.renameSync(path.join(out, dir), path.join(app, dir));
  fs.cpSync(path.join(ROOT, 'bin'), path.join(app, 'bin'), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'));
}, 120_000);

function javascriptFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile() && e.name.endsWith('.js')).map((e) => path.join(e.parentPath, e.name));
}

describe('the compiled runtime', () => {
  it('has no TypeScript left and imports only production dependencies', () => {
    const files = ['src', 'jobs', 'config'].flatMap((dir) => javascriptFiles(path.join(app, dir)));
    expect(files.length).toBeGreaterThan(100);
    const builtins = new Set(builtinModules);
    const bare = new Set<string>();
    for (const file of files) {
      const text = fs.readFileSync(file, 'utf8');
      expect(text, file).not.toMatch(/from ['"]\.{1,2}\/[^'"]*\.ts['"]|import\(['"]\.{1,2}\/[^'"]*\.ts['"]\)/);
      for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
        const spec = m[1] ?? m[2]!;
        if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue;
        bare.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    const notProduction = [...bare].filter((name) => !(name in pkg.dependencies));
    expect(notProduction).toEqual([]);
    // The console's toolchain is build-time only.
    for (const tool of ['tsx', 'vite', 'react', 'openapi-typescript']) expect(pkg.dependencies, tool).not.toHaveProperty(tool);
  });

  it('starts from bin/turnover.js without tsx', () => {
    const run = spawnSync(process.execPath, [path.join(app, 'bin/turnover.js'), '--version'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });
});
