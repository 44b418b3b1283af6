// The exact state and transition counts of every system's default scope, at every
// kernel version it models (as Stateright's examples pin theirs): a change to any state
// space, through the kernel core, a machine, the walker's reductions or the default
// scope, fails here until the new figures are written down on purpose.
import { describe, expect, it } from 'vitest';
import { SYSTEMS } from '../models/index.ts';
import { check } from '../src/index.ts';

/** `pagerace check <system> [--kernel K]` with no scope flags. */
const DEFAULTS: readonly { system: string; kernel?: string; verdict: string; property?: string; states: number; transitions: number }[] = [
  { system: 'nonlru', verdict: 'pass', states: 1_896_547, transitions: 5_279_893 },
  { system: 'balloon', verdict: 'pass', states: 2_137_346, transitions: 5_792_771 },
  { system: 'zsmalloc', verdict: 'pass', states: 116_345, transitions: 347_772 },
  // v5.19's own code reports a finding at its default scope (docs/findings.md).
  { system: 'contig', verdict: 'violation', property: 'isolated-never-handed-out', states: 187_064, transitions: 538_874 },
  { system: 'reporting', verdict: 'pass', states: 25_506, transitions: 69_505 },
  { system: 'reporting', kernel: 'v5.7', verdict: 'pass', states: 36_716, transitions: 109_081 },
  { system: 'lazy', verdict: 'pass', states: 70_031, transitions: 236_337 },
  { system: 'unmovable', verdict: 'pass', states: 333_309, transitions: 1_108_342 },
];

describe('default scopes, pinned', () => {
  it('every system and kernel version has a row', () => {
    const want = SYSTEMS.flatMap((s) => (s.kernels ?? [s.kernel]).map((k, i) => (i === 0 ? s.name : `${s.name} ${k}`)));
    const have = DEFAULTS.map((d) => (d.kernel ? `${d.system} ${d.kernel}` : d.system));
    expect(have.sort()).toEqual(want.sort());
  });

  for (const d of DEFAULTS) {
    it(`${d.system}${d.kernel ? ` --kernel ${d.kernel}` : ''}: ${d.states} states, ${d.transitions} transitions`, () => {
      const { result } = check(d.system, {}, null, d.kernel ? { kernel: d.kernel } : {});
      expect({ verdict: result.verdict, property: result.violation?.property, states: result.states, transitions: result.transitions })
        .toEqual({ verdict: d.verdict, property: d.property, states: d.states, transitions: d.transitions });
    }, 120_000);
  }
});
