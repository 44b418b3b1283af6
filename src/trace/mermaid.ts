/**
 * Mermaid renderings: a trace as a sequenceDiagram (one participant per actor plus
 * the shared world, one message per step that changed the world, one note per step
 * that did not), and an actor's XState machine as a stateDiagram-v2 (read from the
 * machine definition: machine.root.states, their transitions, guard names).
 * Output is deterministic: it depends only on the trace and the machine.
 */
import type { AnyStateMachine } from 'xstate';
import type { Trace } from './trace.ts';

/**
 * Text safe inside a Mermaid label: `;` ends a statement and `#` starts an entity
 * code, and `<`/`>` would be read as HTML, so they become entity codes.
 */
export function mermaidText(s: string): string {
  return s.replace(/%%|[#;<>\n]/g, (c) => MERMAID_ESCAPES[c]);
}
const MERMAID_ESCAPES: Readonly<Record<string, string>> = { '#': '#35;', ';': '#59;', '<': '#lt;', '>': '#gt;', '%%': '#37;#37;', '\n': ' ' };

/** A participant or state id: letters, digits and underscores only. */
const ident = (s: string): string => s.replace(/[^A-Za-z0-9_]/g, '_');

const WORLD = 'world';

/** The trace as a sequenceDiagram; the step that broke the property is highlighted. */
export function sequenceDiagram(t: Trace, actors: readonly string[]): string {
  const lines = ['sequenceDiagram'];
  for (const a of actors) lines.push(`  participant ${ident(a)} as ${mermaidText(a)}`);
  lines.push(`  participant ${WORLD} as pages and driver state`);
  t.steps.forEach((s, i) => {
    const last = i === t.steps.length - 1;
    const what = mermaidText(`${i + 1}. ${s.fn}: ${s.event === 'step' ? s.desc : `${s.event} (${s.desc})`}`);
    const who = ident(s.actor);
    if (last) lines.push('  rect rgb(255, 225, 225)');
    const pad = last ? '    ' : '  ';
    if (s.changes.length) {
      lines.push(`${pad}${who}->>${WORLD}: ${what}`);
      lines.push(`${pad}Note right of ${WORLD}: ${s.changes.map(mermaidText).join('<br/>')}`);
    } else {
      lines.push(`${pad}Note over ${who}: ${what}`);
    }
    if (last) lines.push('  end');
  });
  const v = t.violation;
  const span = actors.length > 1 ? `${ident(actors[0])},${WORLD}` : WORLD;
  lines.push(`  Note over ${span}: ${mermaidText(`${v.kind} ${v.property}: ${v.message}`)}`);
  return lines.join('\n');
}

interface StateNodeLike {
  readonly key: string;
  readonly type: string;
  readonly description?: string;
  readonly meta?: { fn?: string; local?: boolean };
  readonly transitions: Map<string, readonly { target?: readonly { key: string }[]; guard?: unknown; actions: readonly unknown[] }[]>;
}

const guardName = (g: unknown): string | null => {
  if (g === undefined || g === null) return null;
  if (typeof g === 'string') return g;
  if (typeof g === 'object' && typeof (g as { type?: unknown }).type === 'string') return (g as { type: string }).type;
  return 'guard';
};

/**
 * An XState machine as a stateDiagram-v2: states in definition order, labelled with
 * their name and the kernel function they belong to (meta.fn), `[*]` into the initial state and out of final ones, one
 * arrow per transition labelled `EVENT [guard]` (`[guard]` alone for the plain step
 * event, `else` for an unguarded fallback after guarded ones). Local steps are drawn
 * dashed via a class.
 */
export function stateDiagram(machine: AnyStateMachine, stepEvent = 'step'): string {
  const root = machine.root as unknown as { states: Record<string, StateNodeLike>; initial?: { target?: readonly { key: string }[] } };
  const keys = Object.keys(root.states);
  const id = new Map(keys.map((k, i) => [k, `s${i}`]));
  const lines = ['stateDiagram-v2'];
  for (const k of keys) {
    const fn = root.states[k].meta?.fn;
    const label = fn && fn !== '-' ? `${k}<br/><i>${mermaidText(fn)}</i>` : k;
    lines.push(`  state "${mermaidText(k).replace(/"/g, "'")}${label === k ? '' : label.slice(k.length)}" as ${id.get(k)}`);
  }
  const initial = root.initial?.target?.[0]?.key;
  if (initial !== undefined) lines.push(`  [*] --> ${id.get(initial)}`);
  const local: string[] = [];
  for (const k of keys) {
    const n = root.states[k];
    if (n.meta?.local) local.push(id.get(k)!);
    if (n.type === 'final') lines.push(`  ${id.get(k)} --> [*]`);
    for (const [event, ts] of n.transitions) {
      ts.forEach((t, i) => {
        const g = guardName(t.guard);
        const cond = g !== null ? `[${g}]` : ts.length > 1 && i > 0 ? 'else' : '';
        const label = [event === stepEvent ? '' : event, cond].filter(Boolean).join(' ');
        for (const target of t.target ?? [{ key: k }]) {
          lines.push(`  ${id.get(k)} --> ${id.get(target.key)}${label ? `: ${mermaidText(label).replace(/:/g, '#58;')}` : ''}`);
        }
      });
    }
  }
  if (local.length) {
    lines.push('  classDef local stroke-dasharray: 4 3');
    lines.push(`  class ${local.join(',')} local`);
  }
  return lines.join('\n');
}
