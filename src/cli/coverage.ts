/**
 * Coverage (`check --coverage`), after TLC's coverage report: per kind of actor, how
 * many distinct states each machine state was found in and each branch was taken
 * from, and which never were. A passing check says nothing about a step it never
 * reached.
 *
 * Computed from what the walker already gives: its `visit` hook sees every distinct
 * state it stores; every enabled step of a stored state is taken by the search, so
 * taking each one again here (with the walker's local-step chaining, which records
 * the chained steps too) counts exactly the branches the search took. This costs a
 * second expansion of every state, so it runs only when asked.
 */
import type { Compiled, CompiledBranch } from '../explore/compile.ts';
import { enabledBranch, takeStep } from '../explore/check.ts';

export interface KindCoverage {
  /** The actors of this kind (they share one machine: counts are summed over them). */
  readonly actors: readonly string[];
  readonly states: number;
  readonly statesReached: number;
  /** Machine states no actor of this kind was ever in. */
  readonly unreachedStates: readonly string[];
  readonly branches: number;
  readonly branchesTaken: number;
  /** `from --event[guard]--> to` for every branch never taken. */
  readonly untakenBranches: readonly string[];
}

export type Coverage = Record<string, KindCoverage>;

export const branchName = (c: Compiled, actor: number, br: CompiledBranch): string => {
  const a = c.actors[actor];
  return `${a.states[br.from]} --${br.event}${br.guardName ? `[${br.guardName}]` : ''}--> ${a.states[br.target]}`;
};

export class CoverageCounter {
  private readonly pcSeen: Uint32Array[];
  private readonly taken: Uint32Array[];
  private readonly next: Uint8Array;

  constructor(private readonly c: Compiled, private readonly por: boolean) {
    this.pcSeen = c.actors.map((a) => new Uint32Array(a.states.length));
    this.taken = c.actors.map((a) => new Uint32Array(a.branches.length));
    this.next = new Uint8Array(c.stateSize);
  }

  /** A distinct state the walker stored. */
  visit(m: Uint8Array): void {
    const { c } = this;
    for (let a = 0; a < c.actors.length; a++) {
      const pc = m[c.actors[a].base];
      this.pcSeen[a][pc]++;
      for (const group of c.actors[a].groups[pc]) {
        const br = enabledBranch(c, a, group, m);
        if (br === null || 'kind' in br) continue;
        takeStep(c, a, br, m, this.next, this.por, (b) => {
          this.taken[a][b.id]++;
          if (b !== br) this.pcSeen[a][b.from]++;
        });
      }
    }
  }

  /** Plain counts (they cross a thread boundary). */
  counts(): { pcSeen: number[][]; taken: number[][] } {
    return { pcSeen: this.pcSeen.map((x) => [...x]), taken: this.taken.map((x) => [...x]) };
  }
}

/** Counts per actor summed per kind, with what was never reached. */
export function coverageReport(c: Compiled, counts: { pcSeen: readonly (readonly number[])[]; taken: readonly (readonly number[])[] }): Coverage {
  const out: Coverage = {};
  const kinds = [...new Set(c.actors.map((a) => a.kind))];
  for (const kind of kinds) {
    const idx = c.actors.map((a, i) => (a.kind === kind ? i : -1)).filter((i) => i >= 0);
    const first = idx[0];
    const a0 = c.actors[first];
    // Actors of a kind run one program; their tables line up state by state and branch by branch.
    const pcReached = a0.states.map((_, pc) => idx.some((i) => (counts.pcSeen[i][pc] ?? 0) > 0));
    const brTaken = a0.branches.map((_, b) => idx.some((i) => (counts.taken[i][b] ?? 0) > 0));
    out[kind] = {
      actors: idx.map((i) => c.actors[i].name),
      states: a0.states.length,
      statesReached: pcReached.filter(Boolean).length,
      unreachedStates: a0.states.filter((_, pc) => !pcReached[pc]),
      branches: a0.branches.length,
      branchesTaken: brTaken.filter(Boolean).length,
      untakenBranches: a0.branches.filter((_, b) => !brTaken[b]).map((br) => branchName(c, first, br)),
    };
  }
  return out;
}

/** The report as text lines. */
export function coverageText(cov: Coverage): string[] {
  const L: string[] = ['coverage (per kind of actor; a step never taken is not checked by a pass):'];
  for (const [kind, k] of Object.entries(cov)) {
    L.push(`  ${kind} (${k.actors.join(', ')}): ${k.statesReached}/${k.states} machine states reached, ${k.branchesTaken}/${k.branches} branches taken`);
    for (const s of k.unreachedStates) L.push(`    never reached: ${s}`);
    for (const b of k.untakenBranches) L.push(`    never taken:   ${b}`);
  }
  return L;
}
