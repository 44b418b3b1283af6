/**
 * docs/driver-contract.md, generated from the code so that it cannot drift: for every
 * registered system (models/index.ts SYSTEMS), each rule of its driver contract
 * (System.contract, or its properties when it has none) with what enforces it, the
 * variants that break it, each variant's committed minimal trace replayed through
 * `replay` (text swimlanes and a Mermaid sequenceDiagram), and each kind of actor's
 * statechart (a Mermaid stateDiagram-v2 read from its XState definition).
 *
 * Deterministic: no dates, no timings, systems and rules in registration order.
 * A rule that names a property, assertion or variant the code does not have is a
 * ContractError, so the document is never generated from stale links.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SYSTEMS } from '../models/index.ts';
import { replay } from './index.ts';
import { DEADLOCK, type ContractRule, type Property, type System, type Variant } from './system.ts';
import { describeViolation, swimlanes } from './trace/render.ts';
import { sequenceDiagram, stateDiagram } from './trace/mermaid.ts';
import { lifecycleSection } from './lifecycle-doc.ts';

export const CONTRACT_DOC = 'docs/driver-contract.md';

/** The repository root (this file is src/contracts.ts). */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export class ContractError extends Error {
  override name = 'ContractError';
}

interface Enforcer {
  readonly name: string;
  readonly kind: string;
  readonly rule?: string;
  readonly source?: string;
}

const PARTY = { driver: 'driver', vm: 'VM', both: 'both' } as const;
const PARTY_LONG = { driver: 'the driver', vm: 'the VM (mm/)', both: 'the driver and the VM together' } as const;
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
const cellText = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const anchor = (...parts: string[]) => parts.join('-').toLowerCase().replace(/[^a-z0-9-]+/g, '-');

/** Kernel sources an assertion's text must appear in (as the string the code passes). */
function kernelSources(system: System): string {
  const dirs = [join(ROOT, 'src/kernel'), join(ROOT, 'models', system.name)];
  // Recursive: a later kernel world lives in a subdirectory of src/kernel (e.g. mapped-v3/).
  return dirs.filter(existsSync).flatMap((d) => readdirSync(d, { recursive: true }).map(String).filter((f) => f.endsWith('.ts')).sort().map((f) => readFileSync(join(d, f), 'utf8'))).join('\n');
}

/** `VM_BUG_ON_PAGE(!PageLocked(page))` -> `!PageLocked(page)`; `bad_page(): why` -> `why`. */
function assertionCore(a: string): string | null {
  const bad = /^bad_page\(\): (.+)$/.exec(a);
  if (bad) return bad[1];
  const m = /^(?:VM_BUG_ON_PAGE|VM_BUG_ON|BUG_ON|WARN_ON_ONCE|WARN_ON)\((.+)\)$/.exec(a);
  return m ? m[1] : null;
}

function enforcerOf(system: System, props: readonly Property[], name: string, sources: () => string): Enforcer {
  const p = props.find((x) => x.name === name);
  if (p) return { name, kind: p.kind === 'termination' ? 'termination property' : `${p.scope === 'step' ? 'step' : 'state'} invariant`, rule: p.rule, source: p.source };
  if (name === DEADLOCK.name) return { name, kind: 'deadlock check', rule: DEADLOCK.rule, source: DEADLOCK.source };
  const core = assertionCore(name);
  if (core === null) throw new ContractError(`${system.name}: a contract rule names '${name}', which is neither a property of the model nor a kernel assertion`);
  if (!sources().includes(`'${core}'`)) throw new ContractError(`${system.name}: a contract rule names the assertion ${name}, but the kernel core never raises it`);
  return { name, kind: 'kernel assertion' };
}

/** The system's rules, checked against its model; a system without a contract gets one rule per property. */
function rulesOf(system: System, props: readonly Property[]): ContractRule[] {
  if (!system.contract) {
    return [...props, { ...DEADLOCK, kind: 'deadlock' as const }].map((p) => ({
      id: p.name, party: 'vm' as const, text: p.rule, source: p.source, enforcedBy: [p.name],
      brokenBy: system.variants.filter((v) => !v.fix && v.expect.property === p.name).map((v) => v.name),
    }));
  }
  const ids = new Set<string>();
  for (const r of system.contract) {
    if (ids.has(r.id)) throw new ContractError(`${system.name}: two contract rules are called '${r.id}'`);
    ids.add(r.id);
    for (const vn of r.brokenBy) {
      const v = system.variants.find((x) => x.name === vn);
      if (!v) throw new ContractError(`${system.name}: contract rule '${r.id}' names variant '${vn}', which the system does not have`);
      if (!r.enforcedBy.includes(v.expect.property)) throw new ContractError(`${system.name}: variant '${vn}' breaks ${v.expect.property}, which rule '${r.id}' does not list in enforcedBy`);
    }
  }
  return [...system.contract];
}

interface ReplayedVariant {
  readonly variant: Variant;
  readonly file: string;
  readonly text: string | null;
}

function variantTrace(system: System, v: Variant): ReplayedVariant {
  const file = `counterexamples/${system.name}/${v.name}.json`;
  const path = join(ROOT, file);
  return { variant: v, file, text: existsSync(path) ? readFileSync(path, 'utf8') : null };
}

function renderSystem(system: System): string[] {
  const scope = Object.fromEntries(Object.entries(system.scope).map(([k, p]) => [k, p.default]));
  const model = system.build(scope, null);
  const props = model.properties;
  let src: string | null = null;
  const sources = () => (src ??= kernelSources(system));
  const rules = rulesOf(system, props);
  const enforcers = new Map<string, Enforcer>();
  for (const r of rules) for (const e of r.enforcedBy) if (!enforcers.has(e)) enforcers.set(e, enforcerOf(system, props, e, sources));
  const sys = system.name;
  const L: string[] = [];

  L.push(`<a id="${anchor(sys)}"></a>`, `## ${sys}: ${system.title} (kernel ${system.kernel})`, '');
  L.push(system.description, '');
  if (system.driverSlot) {
    L.push(`Bring your own driver with \`pagerace check ${sys} --driver FILE\` (it replaces the \`${system.driverSlot.actor}\` actor). ${system.driverSlot.description}`, '');
  }

  L.push(...lifecycleSection(system));

  // --- the rules -----------------------------------------------------------------
  L.push(`### Rules`, '');
  L.push('| rule | kept by | enforced by | broken by |', '|---|---|---|---|');
  for (const r of rules) {
    const by = r.enforcedBy.length ? r.enforcedBy.map(code).join(', ') : '*not modelled*';
    const broken = r.brokenBy.length ? r.brokenBy.map((v) => `[${v}](#${anchor(sys, 'variant', v)})`).join(', ') : '-';
    L.push(`| [${r.id}](#${anchor(sys, 'rule', r.id)}) | ${PARTY[r.party]} | ${cellText(by)} | ${broken} |`);
  }
  L.push('');
  for (const r of rules) {
    L.push(`<a id="${anchor(sys, 'rule', r.id)}"></a>`, `#### Rule \`${r.id}\``, '');
    L.push(`> ${r.text}`, '');
    L.push(`Source: ${r.source}. Kept by: ${PARTY_LONG[r.party]}.`, '');
    if (r.enforcedBy.length) {
      L.push('Enforced by:', '');
      for (const name of r.enforcedBy) {
        const e = enforcers.get(name)!;
        L.push(`- ${code(name)} (${e.kind})${e.rule ? `: ${e.rule}` : ''}${e.source ? ` Source: ${e.source}` : ''}`);
      }
      L.push('');
    } else {
      L.push(`Not checked by the model${r.note ? `: ${r.note}` : '.'}`, '');
    }
    if (r.brokenBy.length) {
      L.push(`Broken by: ${r.brokenBy.map((v) => `[\`${v}\`](#${anchor(sys, 'variant', v)})`).join(', ')}.`, '');
    } else {
      L.push(`Broken by: no variant of ${sys} yet.`, '');
    }
  }

  // --- every property ----------------------------------------------------------------
  L.push(`### Properties`, '');
  L.push('Every property the model checks, after every step (invariants) or in every final state (termination), plus the kernel\'s own assertions wherever the ported code has them.', '');
  L.push('| property | kind | rule | source |', '|---|---|---|---|');
  for (const p of [...props, { ...DEADLOCK, kind: 'deadlock' as const, scope: 'end' as const }]) {
    L.push(`| ${code(p.name)} | ${p.kind} | ${cellText(p.rule)} | ${cellText(p.source)} |`);
  }
  L.push('');

  // --- variants and their traces -----------------------------------------------------
  L.push(`### Variants and their minimal traces`, '');
  L.push(`Each variant is the same code with one known bug put back. Its trace is the committed minimal counterexample, replayed against the kernel core when this document was generated; \`pagerace replay FILE\` does the same.`, '');
  for (const v of system.variants) {
    const t = variantTrace(system, v);
    const breaks = rules.filter((r) => r.brokenBy.includes(v.name));
    L.push(`<a id="${anchor(sys, 'variant', v.name)}"></a>`, `#### Variant \`${v.name}\``, '');
    L.push(v.description, '');
    L.push(`Source: ${v.source}`, '');
    if (v.fix) {
      L.push(`A fix of the finding ${code(v.expect.property)} in the default code (docs/findings.md): the check passes with it.`, '');
      continue;
    }
    L.push(`Expected: ${v.expect.kind} ${code(v.expect.property)}. ${breaks.length ? `Breaks ${breaks.map((r) => `[\`${r.id}\`](#${anchor(sys, 'rule', r.id)})`).join(', ')}.` : 'No rule of the contract names it.'}`, '');
    if (t.text === null) {
      L.push(`No committed trace (${t.file} is missing).`, '');
      continue;
    }
    const r = replay(t.text);
    if (!r.trace) throw new ContractError(`${t.file} replays without a violation: regenerate it`);
    if (!r.matches) throw new ContractError(`${t.file} replays to ${r.trace.violation.kind} ${r.trace.violation.property}, not what it records: regenerate it`);
    const actors = r.compiled.actors.map((a) => a.name);
    L.push(`Trace \`${t.file}\` (${Object.entries(r.trace.scope).map(([k, n]) => `--${k} ${n}`).join(' ')}): ${describeViolation({ ...r.trace, preemptions: JSON.parse(t.text)['#meta'].preemptions ?? 0 })}.`, '');
    L.push('```text', swimlanes(r.trace, actors), '```', '');
    L.push('```mermaid', sequenceDiagram(r.trace, actors), '```', '');
  }

  // --- statecharts -------------------------------------------------------------------
  L.push(`### Statecharts`, '');
  L.push(`One per kind of actor, read from its XState machine at the default scope (${Object.entries(scope).map(([k, n]) => `--${k} ${n}`).join(' ')}). States are the interleaving points, named by the step program; an arrow is one atomic step, labelled with its event (choices only) and its guard. Dashed states are local steps (see README, "Local steps").`, '');
  const kinds = new Map<string, (typeof model.actors)[number]>();
  for (const a of model.actors) if (!kinds.has(a.kind)) kinds.set(a.kind, a);
  for (const [kind, a] of kinds) {
    const n = Object.keys((a.machine.root as unknown as { states: object }).states).length;
    L.push(`#### \`${kind}\` (${a.name}, ${n} states)`, '');
    L.push('```mermaid', stateDiagram(a.machine), '```', '');
  }
  return L;
}

/** The whole document, for every registered system. */
export function generateContracts(systems: readonly System[] = SYSTEMS): string {
  const L: string[] = [];
  L.push('<!-- Generated by `pagerace contracts` from models/*/contract.ts, properties/ and counterexamples/. Do not edit by hand: run `npx pagerace contracts`. CI runs `pagerace contracts --check`. -->', '');
  L.push('# Driver contracts', '');
  L.push('What a driver owning movable pages must do, and what the VM promises it, rule by rule, as the seed patches and their review state it. Each rule names what checks it in the model (a property, the deadlock check, or a kernel assertion), the known-bug variants that break it, and each variant\'s minimal trace. The statecharts at the end of each system are its actors\' XState machines.', '');
  L.push('Systems:', '');
  for (const s of systems) L.push(`- [${s.name}](#${anchor(s.name)}): ${s.title} (kernel ${s.kernel})`);
  L.push('');
  for (const s of systems) L.push(...renderSystem(s));
  return L.join('\n').replace(/\n+$/, '') + '\n';
}

/** First line where two texts differ (1-based), or 0 when they are equal. */
export function firstDifference(a: string, b: string): number {
  if (a === b) return 0;
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return i + 1;
  return Math.max(x.length, y.length);
}
