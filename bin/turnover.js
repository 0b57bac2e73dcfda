#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader: nothing to build before `npm start`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
await main();
