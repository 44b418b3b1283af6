/** What every command shares: output, the progress line, the version, the --out probe. */
import { mkdtempSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Progress } from '../explore/walker.ts';
import { InputError } from '../index.ts';

export const out = (s: string): void => { process.stdout.write(s + '\n'); };
export const err = (s: string): void => { process.stderr.write(s + '\n'); };

/** package.json's version. */
export function version(): string {
  return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
}

export const progressLine = (p: Progress): string =>
  `states ${p.states}  transitions ${p.transitions}  queue ${p.queue}  depth ${p.depth}  ` +
  `${Math.round(p.states / Math.max(p.seconds, 1e-9))} states/s  ${p.seconds.toFixed(0)} s`;

/**
 * The progress line on stderr (also under --json, whose result is on stdout): rewritten
 * in place on a terminal, one line every 10 s otherwise (CI logs).
 */
export function progressPrinter(): { show: (p: Progress) => void; clear: () => void } {
  const tty = process.stderr.isTTY;
  let last = 0;
  let shown = false;
  return {
    show: (p) => {
      if (tty) { process.stderr.write(`\r${progressLine(p)}\x1b[K`); shown = true; } else if (p.seconds - last >= 10) { last = p.seconds; err(progressLine(p)); }
    },
    clear: () => { if (shown) process.stderr.write('\r\x1b[K'); shown = false; },
  };
}

/**
 * Can a file be written under `dir`? Asked before a search, so that a bad --out costs
 * one line and exit 2 instead of the verdict. Nothing is created: the nearest
 * existing ancestor must be a directory in which a probe directory can be made (and
 * is removed at once). Walking up by hand also keeps away from a recursive mkdir on
 * procfs, which does not return.
 */
export function checkOutDir(dir: string): void {
  let at = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(at);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && dirname(at) !== at) { at = dirname(at); continue; }
      throw new InputError(`--out ${dir}: cannot write there (${code ?? (e as Error).message} at ${at})`);
    }
    if (!st.isDirectory()) throw new InputError(`--out ${dir}: ${at} is not a directory`);
    break;
  }
  try {
    rmdirSync(mkdtempSync(join(at, '.pagerace-probe-')));
  } catch (e) {
    throw new InputError(`--out ${dir}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message} in ${at})`);
  }
}
