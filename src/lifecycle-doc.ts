/**
 * The lifecycle section of a system in docs/driver-contract.md: each page kind's
 * lifecycle machine as a Mermaid state diagram and, per transition, who takes it,
 * under which lock, the kernel function, and the length of its shortest witness at
 * the default scope (src/lifecycle.ts). A transition with no witness that its
 * machine does not mark as needing a larger scope is a ContractError, so
 * `contracts --check` fails on a lifecycle the model never exercises.
 */
import { ContractError } from './contracts.ts';
import { searchWitnesses } from './lifecycle.ts';
import { stateDiagram } from './trace/mermaid.ts';
import type { System } from './system.ts';

const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Lines of the section, or none for a system whose model has no lifecycles. */
export function lifecycleSection(system: System): string[] {
  const scope = Object.fromEntries(Object.entries(system.scope).map(([k, p]) => [k, p.default]));
  const model = system.build(scope, null);
  const lifecycles = model.lifecycles ?? [];
  if (lifecycles.length === 0) return [];
  const search = searchWitnesses(model);
  const L: string[] = [];
  L.push('### Page lifecycles', '');
  L.push(`Each kind of page\'s lifecycle, as the XState machine the \`page-lifecycle\` monitor checks after every step: a page may change state only along an arrow, taken by the actor kind (as the page\'s holder where it says so) under the lock the table names. The witness is the length of a shortest interleaving at the default scope (${Object.entries(scope).map(([k, n]) => `--${k} ${n}`).join(' ')}) that takes the transition, found by one breadth-first search with a \`sometimes\` property per transition.`, '');
  for (const lc of lifecycles) {
    L.push(`#### \`${lc.name}\`: ${lc.title}`, '');
    L.push('```mermaid', stateDiagram(lc.machine, '-'), '```', '');
    L.push('| transition | from | to | taken by | lock | kernel function | witness |', '|---|---|---|---|---|---|---|');
    for (const w of search.witnesses.filter((x) => x.lifecycle === lc.name)) {
      let witness: string;
      if (w.length !== null) witness = `${w.length} steps`;
      else if (w.meta.largerScope) witness = `needs a larger scope: ${w.meta.largerScope}`;
      else throw new ContractError(`${system.name}: lifecycle ${lc.name}: no interleaving at the default scope takes ${w.event} (${w.from} -> ${w.to}); mark it largerScope with the reason, or fix the model`);
      const by = `${w.meta.by.join(', ')}${w.meta.holder ? ' (the holder)' : ''}`;
      L.push(`| ${code(w.event)} | ${w.from} | ${w.to} | ${cell(by)} | ${cell(w.meta.lock)} | ${cell(w.meta.fn)} | ${cell(witness)} |`);
    }
    L.push('');
  }
  return L;
}
