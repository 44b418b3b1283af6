// `pagerace check nonlru --driver FILE`: the README's example command finds the bug
// the example is written to show, the fixed example passes, and driver modules that
// do not fit are one-line usage errors (exit 2).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/pagerace.js');
const run = (args: string[], cwd = ROOT) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd });

/** The README's example commands, as a reader would copy them. */
const readmeCommand = (file: string): string[] => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const line = readme.split('\n').find((l) => l.startsWith(`npx pagerace check nonlru --driver ./examples/${file}`));
  if (!line) throw new Error(`README.md has no 'npx pagerace check nonlru --driver ./examples/${file}' line`);
  return line.replace(/\s+#.*$/, '').trim().split(/\s+/).slice(2);
};

describe('checking your own driver', () => {
  it('the README command finds the buggy driver\'s forgotten isolated-- (exit 13) and its trace replays', () => {
    const out = mkdtempSync(join(tmpdir(), 'pagerace-'));
    const args = readmeCommand('buggy-driver.ts');
    expect(args).toEqual(['check', 'nonlru', '--driver', './examples/buggy-driver.ts']);
    const r = run([...args, '--out', out]);
    expect(r.status).toBe(13);
    expect(r.stdout).toMatch(/termination pages-accounted: the driver still counts 1 isolated page\(s\)/);
    expect(r.stdout).toMatch(/balloon_inflate/);
    const j = JSON.parse(readFileSync(join(out, 'buggy-driver.json'), 'utf8'));
    // Stored relative to the trace file, so that replay works from any directory.
    expect(j['#meta'].driver).toBe(relative(out, join(ROOT, 'examples/buggy-driver.ts')));
    const again = run(['replay', join(out, 'buggy-driver.json')]);
    expect(again.status).toBe(13);
    expect(again.stdout).toMatch(/^reproduced: termination pages-accounted/);
  });

  it('the README command passes the fixed driver (exit 0)', () => {
    const args = readmeCommand('fixed-driver.ts');
    const r = run([...args, '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'pass', driver: './examples/fixed-driver.ts', config: { cpus: 2, pages: 2 } });
  });

  const bad: [string, string, RegExp][] = [
    ['no-export.ts', `export const notADriver = 1;\n`, /exports no 'driver'.*it exports 'notADriver'/],
    ['not-object.ts', `export const driver = 42;\n`, /'driver' must be an object \{ name, ops, thread \}, not a number/],
    ['no-ops.ts', `export const driver = { name: 'x', thread: () => ({}) };\n`, /'driver' has no ops\(lay\)/],
    ['ops-missing.ts', `import { driver as d } from '${ROOT}examples/fixed-driver.ts';\nexport const driver = { ...d, ops: (lay: never) => ({ ...d.ops(lay), putbackPage: undefined }) };\n`, /driver\.ops\(lay\) has no putbackPage/],
    ['bad-outcome.ts', `import { driver as d } from '${ROOT}examples/fixed-driver.ts';\nexport const driver = { ...d, ops: (lay: never) => ({ ...d.ops(lay), isolatePage: () => [{ event: 'step', actions: [] }] }) };\n`, /isolatePage\(b, page\) outcome 0 has no value/],
    ['bad-thread.ts', `import { driver as d } from '${ROOT}examples/fixed-driver.ts';\nexport const driver = { ...d, thread: () => ({ steps: [] }) };\n`, /driver\.thread\(lay\) must return \{ program, initial \} or \{ machine, locals \}/],
    ['bad-initial.ts', `import { driver as d } from '${ROOT}examples/fixed-driver.ts';\nexport const driver = { ...d, thread: (lay: never) => ({ ...d.thread(lay), initial: 'nowhere' }) };\n`, /initial 'nowhere' is not a step of its program/],
    ['syntax.ts', `export const driver = {;\n`, /cannot load driver .*syntax\.ts/],
    ['clash.ts', `import type { ProgramBuilder } from '${ROOT}src/driver.ts';\nimport { driver as f } from '${ROOT}examples/fixed-driver.ts';\nexport const driver = { ...f, ops: (lay: never) => { const o = f.ops(lay); return { ...o, isolatePage: (b: ProgramBuilder, page: number) => [{ event: 'step', actions: [b.a('unlock_page', () => {}, { page })], value: 1 }] }; } };\n`, /driver 'toy-balloon': two different functions registered as 'unlock_page'/],
  ];
  it.each(bad)('%s is a one-line error with exit 2', (name, text, message) => {
    // A user's project: ES modules (see the CommonJS case below).
    const dir = mkdtempSync(join(tmpdir(), 'pagerace-driver-'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(dir, name), text);
    const r = run(['check', 'nonlru', '--cpus', '1', '--pages', '1', '--driver', join(dir, name)]);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(r.status).toBe(2);
  });

  it('a missing file, a CommonJS .ts and --variant with --driver are one-line errors too', () => {
    const cjs = mkdtempSync(join(tmpdir(), 'pagerace-driver-'));
    writeFileSync(join(cjs, 'd.ts'), `export { driver } from '${ROOT}examples/fixed-driver.ts';\n`);
    for (const [args, message] of [
      [['check', 'nonlru', '--driver', join(cjs, 'd.ts')], /loaded as CommonJS; name it \.mts or put it under a package\.json with "type": "module"/],
      [['check', 'nonlru', '--driver', './examples/nosuch.ts'], /cannot load driver \.\/examples\/nosuch\.ts: no such file/],
      [['check', 'nonlru', '--driver', './examples/buggy-driver.ts', '--variant', 'no-isolated-check'], /--variant puts a known bug back/],
    ] as const) {
      const r = run([...args]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
