/**
 * Step program -> XState v5 machine.
 *
 * Every step node becomes a flat state; every branch a transition with a named
 * guard and named actions whose params are the program's static numbers. The
 * machine's context is { w: the world, l: the actor's locals, self: its index }, so
 * the machine runs on its own under XState (the @xstate/graph oracle does that).
 * Each guard and action implementation also carries the program's pure function as
 * `.raw`, which is what the walker compiles: both run the very same code.
 */
import { assign, setup, type AnyStateMachine } from 'xstate';
import type { ActionFn, GuardFn, Params, ProgramBuilder } from '../../src/kernel/program.ts';
import type { ActorDef } from '../../src/system.ts';

export interface StepContext {
  w: Uint8Array;
  l: Uint8Array;
  self: number;
}

/** Run a program function on a context the way the walker does: one packed vector. */
function packed(ctx: StepContext): { m: Uint8Array; L: number } {
  const m = new Uint8Array(ctx.w.length + ctx.l.length);
  m.set(ctx.w, 0);
  m.set(ctx.l, ctx.w.length);
  return { m, L: ctx.w.length };
}

function xstateGuard(raw: GuardFn) {
  const impl = ({ context }: { context: StepContext }, params: Params) => {
    const { m, L } = packed(context);
    return raw(m, L, params, context.self);
  };
  return Object.assign(impl, { raw });
}

function xstateAction(raw: ActionFn) {
  const impl = assign(({ context }: { context: StepContext }, params: Params) => {
    const { m, L } = packed(context);
    raw(m, L, params, context.self);
    return { w: m.slice(0, L), l: m.slice(L) };
  });
  return Object.assign(impl, { raw });
}

export function programMachine(b: ProgramBuilder, initial: string, self: number): AnyStateMachine {
  b.validate();
  const guards = Object.fromEntries(Object.entries(b.guards).map(([k, f]) => [k, xstateGuard(f)]));
  const actions = Object.fromEntries(Object.entries(b.actions).map(([k, f]) => [k, xstateAction(f)]));
  const states = Object.fromEntries(
    Object.entries(b.nodes).map(([label, node]) => [
      label,
      {
        description: node.desc,
        meta: node.local ? { fn: node.fn, local: true } : { fn: node.fn },
        ...(node.final ? { type: 'final' as const } : {}),
        on: Object.fromEntries(
          Object.entries(node.on).map(([event, branches]) => [
            event,
            branches.map((br) => ({
              target: br.target,
              ...(br.guard ? { guard: { type: br.guard.type, params: br.guard.params } } : {}),
              actions: br.actions.map((a) => ({ type: a.type, params: a.params })),
              ...(br.fairExit ? { meta: { fairExit: true } } : {}),
            })),
          ]),
        ),
      },
    ]),
  );
  // The config is generated, so XState's literal-type inference has nothing to hold
  // on to; the cast keeps the typed setup() while passing the generated tables.
  const machineSetup = setup({
    types: {} as { context: StepContext; events: { type: string } },
    guards: guards as never,
    actions: actions as never,
  });
  return machineSetup.createMachine({
    id: b.id,
    initial,
    context: { w: new Uint8Array(0), l: Uint8Array.from(b.initialLocals()), self },
    states: states as never,
  }) as unknown as AnyStateMachine;
}

/** An ActorDef from a finished program. */
export function programActor(b: ProgramBuilder, name: string, kind: string, initial: string, self: number): ActorDef {
  return {
    name,
    kind,
    machine: programMachine(b, initial, self),
    locals: [...b.locals],
    initialLocals: b.initialLocals(),
  };
}
