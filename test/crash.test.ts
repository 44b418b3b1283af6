// A user's driver that throws or never returns (issue 10, item 1): a throw is a
// kernel-bug violation with its shortest trace naming the step and the error (exit
// 10), on one thread and on two workers; a step that never returns is stopped by
// --max-seconds with exit 3, the step named.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/pagerace.js');
const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT });

/** The fixed example driver whose migratepage does `body` (a function of m, L, P). */
function driverWith(name: string, body: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pagerace-crash-'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(dir, `${name}.ts`), `
import { driver as d } from '${ROOT}examples/fixed-driver.ts';
import { STEP, RC_SUCCESS, type ProgramBuilder } from '${ROOT}src/driver.ts';
export const driver = {
  ...d, name: '${name}',
  ops: (lay: never) => ({
    ...d.ops(lay),
    migratePage: (b: ProgramBuilder, a: { page: number }) => [{
      event: STEP, value: RC_SUCCESS,
      actions: [b.a('${name} migratepage', (m: Uint8Array, L: number, P: Record<string, number>) => { ${body} }, { page: a.page })],
    }],
  }),
};
`);
  return join(dir, `${name}.ts`);
}

describe('a driver that throws', () => {
  // Only when migrating the driver's page (pfn 0): the throw needs a CPU to isolate it first.
  const file = driverWith('crashy', `const slots: { pfn: number }[] = []; slots[m[L + P.page] + 1].pfn = 1;`);

  for (const workers of [1, 2]) {
    it(`is a kernel-bug violation with its trace, exit 10 (--workers ${workers})`, () => {
      const out = mkdtempSync(join(tmpdir(), 'pagerace-crash-out-'));
      const r = run(['check', 'nonlru', '--cpus', '2', '--pages', '1', '--driver', file, '--workers', String(workers), '--out', out, '--json']);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(10);
      const j = JSON.parse(r.stdout);
      expect(j.violation).toMatchObject({ kind: 'kernel-bug', property: 'uncaught-exception' });
      expect(j.violation.message).toMatch(/^the action of cpu\d at 'migrate\/uam\/uap\/mtnp' on step \(move_to_new_page\) threw TypeError: Cannot set properties of undefined/);
      // The shortest interleaving: the driver inflates, a CPU scans past the scan mix's
      // pages (--mix 4), isolates and migrates.
      expect(j.violation.steps).toBe(13);
      const again = run(['replay', join(out, 'crashy.json'), '--json']);
      expect(again.status).toBe(10);
      expect(JSON.parse(again.stdout)).toMatchObject({ matches: true, reproduced: { property: 'uncaught-exception', steps: 13 } });
      expect(readFileSync(join(out, 'crashy.json'), 'utf8')).toMatch(/uncaught-exception/);
    }, 60_000);
  }

  it('a guard that throws is one too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagerace-crash-'));
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(join(dir, 'guard.ts'), `
import { driver as d } from '${ROOT}examples/fixed-driver.ts';
import { STEP, type ProgramBuilder } from '${ROOT}src/driver.ts';
export const driver = { ...d, name: 'guard', ops: (lay: never) => ({ ...d.ops(lay),
  isolatePage: (b: ProgramBuilder, page: number) => [{ event: STEP, value: 1, actions: [],
    guard: b.g('guard isolate', () => { throw new RangeError('no such page'); }, { page }) }] }) };
`);
    const out = mkdtempSync(join(tmpdir(), 'pagerace-crash-out-'));
    const r = run(['check', 'nonlru', '--cpus', '1', '--pages', '1', '--driver', join(dir, 'guard.ts'), '--out', out, '--json']);
    expect(r.status).toBe(10);
    expect(JSON.parse(r.stdout).violation.message).toMatch(/^the guard of cpu0 at '.*' on step \(isolate_movable_page\) threw RangeError: no such page$/);
    const again = run(['replay', join(out, 'guard.json'), '--json']);
    expect(again.status).toBe(10);
    expect(JSON.parse(again.stdout).matches).toBe(true);
  }, 60_000);
});

describe('a driver step that never returns', () => {
  const file = driverWith('spinner', `for (;;) { if (m.length < 0) break; }`);
  for (const workers of [1, 2]) {
    it(`is stopped by --max-seconds with exit 3, naming the step (--workers ${workers})`, () => {
      const t0 = Date.now();
      const r = run(['check', 'nonlru', '--cpus', '1', '--pages', '1', '--driver', file, '--max-seconds', '1', '--workers', String(workers), '--json']);
      expect(r.status).toBe(3);
      const j = JSON.parse(r.stdout);
      expect(j.verdict).toBe('incomplete');
      expect(j.limit).toBe("--max-seconds 1: cpu0 at 'migrate/uam/uap/mtnp' on step (move_to_new_page) did not return");
      expect(Date.now() - t0).toBeLessThan(20_000);
    }, 60_000);
  }
});
