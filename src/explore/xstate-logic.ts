/**
 * The oracle: a model's actors composed into one XState actor logic that
 * @xstate/graph can traverse. Each step hands the current world to one actor's
 * machine and runs XState's own pure transition(), so nothing of the walker's
 * compiled tables is involved. Tests compare what both reach.
 */
import { transition, type AnyStateMachine } from 'xstate';
import type { Model } from '../system.ts';
import type { StepContext } from '../../models/common/machine.ts';

export interface SystemSnapshot {
  readonly status: 'active';
  readonly output: undefined;
  readonly error: undefined;
  readonly w: Uint8Array;
  readonly actors: readonly { readonly value: string; readonly l: Uint8Array }[];
}

export interface SystemEvent {
  readonly type: string; // `${actor index}|${event}`
}

export function systemLogic(model: Model) {
  const machines: AnyStateMachine[] = model.actors.map((a) => a.machine);
  const eventsAt = (snap: SystemSnapshot): SystemEvent[] => {
    const out: SystemEvent[] = [];
    snap.actors.forEach((a, i) => {
      const node = machines[i].root.states[a.value];
      for (const ev of node.transitions.keys()) out.push({ type: `${i}|${ev}` });
    });
    return out;
  };
  const logic = {
    getInitialSnapshot: (): SystemSnapshot => ({
      status: 'active', output: undefined, error: undefined,
      w: model.world.slice(),
      actors: model.actors.map((a, i) => ({ value: String(machines[i].config.initial), l: Uint8Array.from(a.initialLocals) })),
    }),
    transition: (snap: SystemSnapshot, event: SystemEvent): SystemSnapshot => {
      const bar = event.type.indexOf('|');
      const i = Number(event.type.slice(0, bar));
      const machine = machines[i];
      const ctx: StepContext = { w: snap.w, l: snap.actors[i].l, self: i };
      const before = machine.resolveState({ value: snap.actors[i].value, context: ctx });
      const [after] = transition(machine, before, { type: event.type.slice(bar + 1) });
      if (after === before || after.context === before.context && after.value === before.value) return snap;
      const c = after.context as StepContext;
      const actors = snap.actors.slice();
      actors[i] = { value: String(after.value), l: c.l };
      return { ...snap, w: c.w, actors };
    },
  };
  return { logic, eventsAt };
}

/** The walker's packed form of a snapshot, to compare the two explorations. */
export function packSnapshot(model: Model, snap: SystemSnapshot, stateNames: readonly (readonly string[])[]): string {
  const parts = [Array.from(snap.w).join(',')];
  snap.actors.forEach((a, i) => parts.push(`${stateNames[i].indexOf(a.value)}:${Array.from(a.l).join(',')}`));
  return parts.join('|');
}
