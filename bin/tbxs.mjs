#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so `tbxs` works right after `npm install`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../targets/host/cli.ts');
process.exitCode = await main(process.argv.slice(2));
