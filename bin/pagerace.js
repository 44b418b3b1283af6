#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader, so a fresh clone needs
// only `npm ci` (no build step to forget), and user driver files can be TypeScript.
import { register } from 'tsx/esm/api';

register();
// `pagerace list | head` closes stdout early: end quietly, as other command-line tools do.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main } = await import('../src/cli/main.ts');
const code = await main(process.argv.slice(2));
// Interrupted (Ctrl-C): the summary is printed; search threads still running must not
// keep the process alive.
if (code === 130) process.exit(code);
process.exitCode = code;
