// The command line as a user meets it: exit codes, one-line errors, determinism.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.ts';
import { contig } from '../models/contig/index.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = new URL('../bin/pagerace.js', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
const runIn = (cwd: string, env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd, env: { ...process.env, ...env }, timeout: 120_000 });
/** The CLI in this process (no node start-up): for the many quick usage errors. */
async function runMain(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { stdout += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { stderr += String(s); return true; });
  try {
    return { status: await main(args), stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
const oneLine = (r: { stderr: string }) => {
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
};

describe('pagerace CLI', () => {
  it.each([
    [['check', 'nosuch'], /unknown system 'nosuch'/],
    [['check', 'nonlru', '--variant', 'nope'], /unknown variant 'nope'/],
    [['check', 'nonlru', '--cpus', '0'], /--cpus must be between 1 and 4/],
    [['check', 'nonlru', '--pages', 'two'], /--pages must be an integer/],
    [['check', 'nonlru', '--frobnicate'], /unknown flag --frobnicate/],
    [['frob'], /unknown command 'frob'/],
    [['check', 'nonlru', '--workers', '0'], /--workers must be between 1 and 64/],
    [['check', 'nonlru', '--workers', '2', '--shard', '1/2'], /--workers and --shard do not combine/],
    // Each flag within its bounds, but nothing to check together (System.scopeError).
    [['check', 'unmovable', '--gmem', '0', '--files', '0'], /^pagerace: unmovable: give it at least one folio/],
  ])('%j is a one-line usage error with exit 2', async (args, message) => {
    const r = await runMain(...args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('a usage error from the real process is one line on stderr and exit 2', () => {
    const r = run('check', 'nonlru', '--frobnicate');
    expect(r.status).toBe(2);
    oneLine(r);
    expect(r.stderr).toBe('pagerace: unknown flag --frobnicate\n');
  });

  it('rejects a malformed trace file with exit 2 and one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagerace-'));
    for (const [name, text] of [['a.json', '{not json'], ['b.json', '{"#meta":{"system":"nonlru"}}'], ['c.json', '[]']]) {
      writeFileSync(join(dir, name), text);
      const r = run('replay', join(dir, name));
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('check --json gives the summary of DESIGN.md, and exit 12 for an invariant', () => {
    const out = mkdtempSync(join(tmpdir(), 'pagerace-'));
    const r = run('check', 'nonlru', '--cpus', '2', '--pages', '1', '--variant', 'no-isolated-check', '--json', '--out', out);
    expect(r.status).toBe(12);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ system: 'nonlru', config: { cpus: 2, pages: 1 }, variant: 'no-isolated-check', verdict: 'violation' });
    expect(j.violation).toMatchObject({ property: 'no-double-isolation', kind: 'invariant' });
    expect(readdirSync(out)).toEqual(['no-isolated-check.json']);
  });

  it('gives the same counts and the same trace bytes twice', () => {
    const a = mkdtempSync(join(tmpdir(), 'pagerace-'));
    const b = mkdtempSync(join(tmpdir(), 'pagerace-'));
    const ra = JSON.parse(run('check', 'nonlru', '--variant', 'lock-before-refcount', '--json', '--out', a).stdout);
    const rb = JSON.parse(run('check', 'nonlru', '--variant', 'lock-before-refcount', '--json', '--out', b).stdout);
    expect([ra.states, ra.transitions]).toEqual([rb.states, rb.transitions]);
    expect(readFileSync(join(a, 'lock-before-refcount.json'), 'utf8')).toBe(readFileSync(join(b, 'lock-before-refcount.json'), 'utf8'));
  });

  it('check --workers 2 gives the one-worker verdict, counts, exit code and trace length', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagerace-'));
    const args = ['check', 'nonlru', '--variant', 'putback-forgets-isolated-count', '--json'];
    const one = run(...args, '--out', join(dir, 'one'));
    const two = run(...args, '--workers', '2', '--out', join(dir, 'two'));
    expect(two.status).toBe(one.status);
    const [a, b] = [one, two].map((r) => JSON.parse(r.stdout));
    expect(b.workers).toBe(2);
    expect([b.states, b.transitions, b.violation.property, b.violation.steps]).toEqual([a.states, a.transitions, a.violation.property, a.violation.steps]);
  });

  it('--max-states stops with exit 3 and no trace', () => {
    const r = run('check', 'nonlru', '--max-states', '500', '--json');
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'incomplete', states: 500 });
  });

  it('--version prints the package version; every command has --help', () => {
    const v = run('--version');
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    const h = run('check', '--help');
    expect(h.status).toBe(0);
    // Each system's scope flags, and the flags every check takes.
    for (const f of ['--cpus', '--pages', '--zspages', '--objects', '--contigs', '--rounds', '--kernel', '--coverage', '--format', '--all']) expect(h.stdout).toContain(f);
    expect(h.stdout).toMatch(/zsmalloc \(kernel v4\.8\):\n\s+--cpus 1\.\.2/);
    for (const cmd of ['list', 'replay', 'view', 'merge', 'contracts', 'bench']) {
      const r = run(cmd, '--help');
      expect(r.status, cmd).toBe(0);
      expect(r.stdout, cmd).toMatch(new RegExp(`^usage: pagerace ${cmd}`));
    }
    const g = run('--help');
    expect(g.status).toBe(0);
    for (const cmd of ['list', 'check', 'replay', 'view', 'merge', 'contracts', 'bench']) expect(g.stdout).toMatch(new RegExp(`^  ${cmd} `, 'm'));
  });

  it.each([
    [['check', 'nonlru', '--kernel', 'v9.9'], /nonlru does not model kernel v9\.9 \(it models: v4\.8\)/],
    [['check', 'nonlru', '--pages'], /--pages needs a value/],
    [['check', 'nonlru', '--json=yes'], /--json takes no value/],
    [['check', 'nonlru', '--format', 'xml'], /--format must be text, json, junit or sarif/],
    [['check', 'nonlru', '--all'], /check --all takes no system name/],
    [['check', 'nonlru', '--only', 'x'], /--only goes with --all/],
    [['check', 'nonlru', '--coverage', '--workers', '2'], /--coverage runs on one thread/],
    [['replay'], /replay needs exactly one trace file/],
  ])('%j is a one-line usage error with exit 2', async (args, message) => {
    const r = await runMain(...args);
    expect(r.status).toBe(2);
    oneLine(r);
    expect(r.stderr).toMatch(message);
  });

  it('--kernel with a version the system models checks it', () => {
    const r = run('check', 'nonlru', '--kernel', 'v4.8', '--cpus', '1', '--pages', '1', '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: 'pass', config: { cpus: 1, pages: 1 } });
  });

  it('an --out that cannot be written is one line and exit 2, before any search, leaving nothing behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagerace-'));
    writeFileSync(join(dir, 'file'), '');
    const places = ['/dev/null/sub', '/proc/self/pagerace/out', join(dir, 'file'), join(dir, 'file/sub')];
    // A read-only directory stops only a user who is not root.
    if (process.getuid?.() !== 0) { mkdirSync(join(dir, 'ro')); chmodSync(join(dir, 'ro'), 0o555); places.push(join(dir, 'ro/out')); }
    for (const place of places) {
      // A scope that takes minutes: the answer must come before the search.
      const t0 = Date.now();
      const r = run('check', 'nonlru', '--cpus', '4', '--pages', '4', '--variant', 'no-isolated-check', '--out', place);
      expect(r.status, place).toBe(2);
      oneLine(r);
      expect(r.stderr).toMatch(/^pagerace: --out .*: (cannot write there|.* is not a directory)/);
      expect(Date.now() - t0).toBeLessThan(60_000);
    }
    expect(readdirSync(dir).sort()).toEqual(places.length > 4 ? ['file', 'ro'] : ['file']);
    expect(existsSync('/proc/self/pagerace')).toBe(false);
  });

  it('Ctrl-C prints the incomplete summary with the figures so far, writes nothing, exits 130', async () => {
    const out = mkdtempSync(join(tmpdir(), 'pagerace-'));
    for (const [json, workers] of [[true, 1], [false, 1], [false, 2]] as const) {
      const child = spawn(process.execPath, [BIN, 'check', 'nonlru', '--cpus', '3', '--pages', '3', '--out', out, '--workers', String(workers), ...(json ? ['--json'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      await new Promise((r) => setTimeout(r, 4000));
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
      expect(code).toBe(130);
      if (json) {
        expect(JSON.parse(stdout)).toMatchObject({ system: 'nonlru', verdict: 'incomplete', limit: 'interrupted (SIGINT)', states: expect.any(Number) });
      } else {
        expect(stdout).toMatch(/^incomplete: \d+ states, \d+ transitions, depth \d+, .*s\/s( on 2 workers)? \(stopped by interrupted \(SIGINT\)\)$/m);
      }
    }
    expect(readdirSync(out)).toEqual([]);
  }, 90_000);

  it('list prints each property\'s rule and source, and every system', () => {
    const r = run('list');
    expect(r.status).toBe(0);
    for (const s of ['nonlru', 'balloon', 'zsmalloc', 'contig', 'reporting']) expect(r.stdout).toMatch(new RegExp(`^${s} \\(kernel `, 'm'));
    expect(r.stdout).toMatch(/^ {4}no-double-isolation \(invariant\): .+\n {6}source: .+/m);
  });
});

describe('pagerace replay', () => {
  const committed = join(ROOT, 'counterexamples/nonlru/no-isolated-check.json');

  it('a trace another tool wrote is read, and refused for replay in one line', async () => {
    const r = await runMain('replay', join(ROOT, 'test/fixtures/quint-nonlru-violation.itf.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('pagerace: not a pagerace trace (#meta.source is "protocol.qnt"): replay re-executes pagerace\'s own traces\n');
  });

  it('reports the real preemption count', () => {
    const r = run('replay', committed, '--json');
    expect(r.status).toBe(12);
    expect(JSON.parse(r.stdout).reproduced).toMatchObject({ property: 'no-double-isolation', steps: 12, preemptions: 4 });
    expect(run('replay', committed).stdout).toMatch(/^reproduced: invariant no-double-isolation: .* \(12 steps, 4 preemptions\)/);
  });

  it('a state edited in the file is named, exit 2; a trace that no longer applies exits 4', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagerace-'));
    const doc = JSON.parse(readFileSync(committed, 'utf8'));
    doc.states[4].globals['driver.isolated'] = 3;
    writeFileSync(join(dir, 'edited.json'), JSON.stringify(doc));
    const e = run('replay', join(dir, 'edited.json'));
    expect(e.status).toBe(2);
    oneLine(e);
    expect(e.stderr).toMatch(/state 4 .* differs from re-execution at globals\.driver\.isolated: the file has 3, re-execution gives 0/);
    // The same trace against the fixed code: a regression check of the fix.
    const fixed = JSON.parse(readFileSync(committed, 'utf8'));
    fixed['#meta'].variant = null;
    writeFileSync(join(dir, 'fixed.json'), JSON.stringify(fixed));
    const f = run('replay', join(dir, 'fixed.json'));
    expect(f.status).toBe(4);
    oneLine(f);
    expect(f.stderr).toMatch(/^pagerace: the trace no longer applies: step \d+ \(cpu\d .*\) is not possible: /);
  });

  it('finds a trace\'s driver from another directory', () => {
    const out = mkdtempSync(join(tmpdir(), 'pagerace-'));
    const r = runIn(ROOT, {}, 'check', 'nonlru', '--cpus', '1', '--pages', '1', '--driver', './examples/buggy-driver.ts', '--out', out);
    expect(r.status).toBe(13);
    const again = runIn(tmpdir(), {}, 'replay', join(out, 'buggy-driver.json'));
    expect(again.stderr).toBe('');
    expect(again.status).toBe(13);
    // Stored relative to the trace file's directory.
    const rel = JSON.parse(readFileSync(join(out, 'buggy-driver.json'), 'utf8'))['#meta'].driver as string;
    expect(join(out, rel)).toBe(join(ROOT, 'examples/buggy-driver.ts'));
  });
});

describe('pagerace view', () => {
  it('writes one HTML page for a committed trace; check names the command', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagerace-'));
    const r = run('view', join(ROOT, 'counterexamples/nonlru/no-isolated-check.json'), '--out', join(dir, 'v.html'));
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(`wrote ${join(dir, 'v.html')}`);
    expect(readFileSync(join(dir, 'v.html'), 'utf8')).toMatch(/^<!doctype html>/);
    const bad = run('view', join(dir, 'nosuch.json'));
    expect(bad.status).toBe(2);
    oneLine(bad);
    const c = run('check', 'nonlru', '--cpus', '2', '--pages', '1', '--variant', 'no-isolated-check', '--out', dir);
    expect(c.stdout).toContain(`see it with: pagerace view ${dir}/no-isolated-check.json`);
  });
});

describe('pagerace check --all and CI reports', () => {
  it('checks every system\'s default, every committed finding and every variant at its committed scope (contig here), one table, exit 0', () => {
    const r = run('check', '--all', '--only', 'contig');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const rows = 1 + contig.variants.length + readdirSync(join(ROOT, 'counterexamples/contig/findings')).length;
    expect(lines.filter((l) => /^ok {2}contig/.test(l))).toHaveLength(rows);
    // contig's default is v5.19 as it is, which reproduces a committed finding.
    expect(lines.find((l) => /^ok {2}contig /.test(l))).toMatch(/invariant isolated-never-handed-out, \d+ steps/);
    expect(lines.at(-1)).toBe(`${rows} of ${rows} as expected`);
  });

  it('an unexpected verdict fails the run: exit 1, a FAIL row, ::error under GitHub Actions, JUnit and SARIF', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagerace-'));
    cpSync(join(ROOT, 'counterexamples/contig'), join(dir, 'contig'), { recursive: true });
    rmSync(join(dir, 'contig/seed-alloc-range.json'));
    const args = ['check', '--all', '--only', 'contig/s', '--counterexamples', dir];
    const t = runIn(ROOT, { GITHUB_ACTIONS: 'true' }, ...args);
    expect(t.status).toBe(1);
    expect(t.stdout).toMatch(/^FAIL {2}contig\/seed-alloc-range /m);
    expect(t.stderr).toMatch(/^::error title=pagerace contig\/seed-alloc-range::expected termination range-whole-or-nothing \(no committed trace\), got [a-z-]+ [^,]+, \d+ steps: no contig\/seed-alloc-range\.json among the committed traces; reproduce: pagerace check contig/m);
    expect(t.stdout).toMatch(/^2 of 3 as expected; 1 unexpected$/m);
    const j = run(...args, '--format', 'junit');
    expect(j.status).toBe(1);
    expect(j.stdout).toMatch(/^<\?xml/);
    expect(j.stdout).toContain('<testsuite name="pagerace check --all" tests="3" failures="1"');
    expect(j.stdout.match(/<failure /g)).toHaveLength(1);
    const s = run(...args, '--format', 'sarif');
    const sarif = JSON.parse(s.stdout);
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].results).toHaveLength(1);
    // The rule is the property the unexpected run violated (here the default scope's own finding).
    expect(sarif.runs[0].results[0]).toMatchObject({ ruleId: expect.stringMatching(/^[a-z-]+$/), level: 'error' });
  });

  it('--format sarif and junit for one check; ::error names the trace file', () => {
    const out = mkdtempSync(join(tmpdir(), 'pagerace-'));
    const r = runIn(ROOT, { GITHUB_ACTIONS: 'true' }, 'check', 'nonlru', '--cpus', '2', '--pages', '1', '--variant', 'no-isolated-check', '--format', 'sarif', '--out', out);
    expect(r.status).toBe(12);
    const annotation = r.stderr.split('\n').find((l) => l.startsWith('::'));
    expect(annotation).toBe(`::error file=${out}/no-isolated-check.json,title=pagerace nonlru/no-isolated-check::invariant no-double-isolation: pfn 0 is isolated by CPUs 0 and 1; reproduce: pagerace check nonlru --cpus 2 --pages 1 --mix 4 --variant no-isolated-check`);
    const sarif = JSON.parse(r.stdout);
    expect(sarif.runs[0].results[0]).toMatchObject({ ruleId: 'no-double-isolation', locations: [{ physicalLocation: { artifactLocation: { uri: `${out}/no-isolated-check.json` } } }] });
    expect(sarif.runs[0].tool.driver.rules[0].shortDescription.text).toMatch(/isolate/);
    const j = run('check', 'nonlru', '--cpus', '1', '--pages', '1', '--format', 'junit');
    expect(j.status).toBe(0);
    expect(j.stdout).toContain('tests="1" failures="0"');
  });
});

describe('pagerace check --coverage', () => {
  it('lists per kind of actor the machine states and branches the search never reached', () => {
    const small = JSON.parse(run('check', 'nonlru', '--cpus', '1', '--pages', '1', '--coverage', '--json').stdout).coverage;
    const more = JSON.parse(run('check', 'nonlru', '--cpus', '2', '--pages', '1', '--coverage', '--json').stdout).coverage;
    for (const cov of [small, more]) {
      expect(Object.keys(cov).sort()).toEqual(['cpu', 'driver']);
      expect(cov.cpu.statesReached + cov.cpu.unreachedStates.length).toBe(cov.cpu.states);
      expect(cov.cpu.branchesTaken + cov.cpu.untakenBranches.length).toBe(cov.cpu.branches);
      expect(cov.driver).toMatchObject({ unreachedStates: [], untakenBranches: [] });
    }
    expect(small.cpu.actors).toEqual(['cpu0']);
    expect(more.cpu.actors).toEqual(['cpu0', 'cpu1']);
    // No allocation of a migration target fails in any scope: its branch is never taken.
    expect(small.cpu.untakenBranches).toContain('migrate/result --step[rc == -ENOMEM]--> putback');
    expect(more.cpu.branchesTaken).toBeGreaterThanOrEqual(small.cpu.branchesTaken);
    const text = run('check', 'nonlru', '--cpus', '1', '--pages', '1', '--coverage').stdout;
    expect(text).toMatch(/^ {2}cpu \(cpu0\): \d+\/\d+ machine states reached, \d+\/\d+ branches taken$/m);
    expect(text).toMatch(/^ {4}never taken: {3}migrate\/result --step\[rc == -ENOMEM\]--> putback$/m);
  });
});
