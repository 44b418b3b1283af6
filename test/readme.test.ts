// The README as a reader meets it: no paths a clone lacks, every system and command
// named, and the driver example's figures what the command prints.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYSTEMS } from '../src/index.ts';
import { COMMANDS } from '../src/cli/commands.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('README', () => {
  it('names no ../shared/ path (a clone does not have it)', () => {
    expect(README).not.toMatch(/\.\.\/shared\//);
  });

  it('lists every system and every command, and --version', () => {
    const systems = README.split('\n').filter((l, i, a) => a.slice(Math.max(0, i - 3), i + 1).some((x) => x.startsWith('Systems: '))).join(' ');
    for (const s of SYSTEMS) expect(systems, s.name).toContain(`\`${s.name}\``);
    const commands = README.slice(README.indexOf('## Commands'), README.indexOf('## Commands') + 2000);
    for (const c of COMMANDS) expect(commands, c.name).toContain(`pagerace ${c.name}`);
    expect(commands).toContain('pagerace --version');
  });

  it('the driver example\'s figures are what the command prints', () => {
    const block = README.slice(README.indexOf('npx pagerace check nonlru --driver ./examples/buggy-driver.ts'));
    const figures = /violation: (\d+) states, (\d+) transitions, depth (\d+),/.exec(block)!;
    const length = /\((\d+) steps, (\d+) preemptions\)/.exec(block)!;
    const out = mkdtempSync(join(tmpdir(), 'pagerace-'));
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/pagerace.js'), 'check', 'nonlru', '--driver', './examples/buggy-driver.ts', '--out', out, '--json'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(13);
    const j = JSON.parse(r.stdout);
    expect([j.states, j.transitions, j.depth]).toEqual(figures.slice(1, 4).map(Number));
    expect([j.violation.steps, j.violation.preemptions]).toEqual(length.slice(1, 3).map(Number));
  });
});
