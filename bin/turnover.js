#!/usr/bin/env node
// The runtime image ships compiled JavaScript (src/cli.js, from `npm run build`); a checkout runs
// the TypeScript sources through tsx's loader, with nothing to build before `npm start`.
import { existsSync } from 'node:fs';

const compiled = new URL('../src/cli.js', import.meta.url);
if (existsSync(compiled)) {
  const { main } = await import(compiled.href);
  await main();
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../src/cli.ts');
  await main();
}
