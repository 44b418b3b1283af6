// The command line as a user meets it: exit codes, one-line errors, determinism.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = new URL('../bin/pagerace.js', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

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
  ])('%j is a one-line usage error with exit 2', (args, message) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
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
});
