// docs/driver-contract.md is generated from the code; CI fails when it drifts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYSTEMS } from '../models/index.ts';
import { ContractError, generateContracts } from '../src/contracts.ts';
import { mermaidText, stateDiagram } from '../src/trace/mermaid.ts';
import type { System } from '../src/system.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/pagerace.js');
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT });

describe('pagerace contracts', () => {
  it('--check passes on the committed docs/driver-contract.md', () => {
    const r = run('contracts', '--check');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('--check fails with one line and exit 1 when the file differs', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pagerace-')), 'contract.md');
    writeFileSync(file, readFileSync(join(ROOT, 'docs/driver-contract.md'), 'utf8').replace('# Driver contracts', '# Driver contract'));
    const r = run('contracts', '--check', '--out', file);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/is out of date \(first difference at line 3\)/);
  });

  it('covers every system, rule, variant and actor kind, deterministically', () => {
    const doc = generateContracts();
    expect(generateContracts()).toBe(doc);
    for (const s of SYSTEMS) {
      expect(doc).toContain(`## ${s.name}: `);
      for (const r of s.contract ?? []) expect(doc).toContain(`#### Rule \`${r.id}\``);
      for (const v of s.variants) expect(doc).toContain(`#### Variant \`${v.name}\``);
    }
    expect(doc).toContain('#### `cpu` (cpu0, ');
    expect(doc).toContain('#### `driver` (driver, ');
    expect(doc.match(/```mermaid\nsequenceDiagram/g)).toHaveLength(SYSTEMS.reduce((n, s) => n + s.variants.filter((v) => !v.fix).length, 0));
    expect(doc).not.toMatch(/\b20\d\d-\d\d-\d\d\b/);
  });

  it('refuses a rule that names a property, assertion or variant the code does not have', () => {
    const [nonlru] = SYSTEMS;
    const withRule = (rule: object): System => ({ ...nonlru, contract: [{ id: 'x', party: 'driver', text: 't', source: 's', enforcedBy: [], brokenBy: [], ...rule }] });
    expect(() => generateContracts([withRule({ enforcedBy: ['no-such-property'] })])).toThrow(ContractError);
    expect(() => generateContracts([withRule({ enforcedBy: ['VM_BUG_ON_PAGE(PageFrobbed(page))'] })])).toThrow(/never raises it/);
    expect(() => generateContracts([withRule({ brokenBy: ['no-such-variant'] })])).toThrow(/does not have/);
    expect(() => generateContracts([withRule({ enforcedBy: ['use-after-free'], brokenBy: ['no-isolated-check'] })])).toThrow(/does not list/);
  });

  it('draws every state and every transition of each machine', () => {
    const model = SYSTEMS[0].build({ cpus: 1, pages: 1 }, null);
    for (const a of model.actors) {
      const states = (a.machine.root as unknown as { states: Record<string, { transitions: Map<string, { target?: unknown[] }[]>; type: string }> }).states;
      const d = stateDiagram(a.machine).split('\n');
      const edges = Object.values(states).reduce((n, st) => n + [...st.transitions.values()].reduce((k, ts) => k + ts.length, 0), 0);
      const finals = Object.values(states).filter((st) => st.type === 'final').length;
      expect(d.filter((l) => /^  state "/.test(l))).toHaveLength(Object.keys(states).length);
      expect(d.filter((l) => /^  s\d+ --> s\d+/.test(l))).toHaveLength(edges);
      expect(d.filter((l) => / --> \[\*\]$/.test(l))).toHaveLength(finals);
      expect(d).toContain('  [*] --> s0');
    }
  });

  it('escapes what Mermaid would read as syntax', () => {
    expect(mermaidText('a; b # c <d> %%')).toBe('a#59; b #35; c #lt;d#gt; #37;#37;');
  });
});
