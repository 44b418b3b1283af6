// Liveness: a reachable cycle in which the run never ends under a weakly fair
// scheduler is a livelock (termination, exit 13) with a lasso trace; a loop that a
// fair scheduler always leaves is not.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { programMachine } from '../models/common/machine.ts';
import { compile } from '../src/explore/compile.ts';
import { search } from '../src/explore/search.ts';
import { hasLoops, unfairLoop } from '../src/explore/liveness.ts';
import { ProgramBuilder, br, fairExit } from '../src/kernel/program.ts';
import type { ActorDef, Model } from '../src/system.ts';
import { check, exitCodeOf, replay } from '../src/index.ts';
import { SYSTEMS } from '../models/index.ts';
import { lassoOf, parseTraceFile, rebuild, toItf } from '../src/trace/trace.ts';
import { swimlanes } from '../src/trace/render.ts';

const free = (m: Uint8Array, _L: number, P: Record<string, number>) => m[P.at] === 0;
const set = (m: Uint8Array, _L: number, P: Record<string, number>) => { m[P.at] = 1; };
const clear = (m: Uint8Array, _L: number, P: Record<string, number>) => { m[P.at] = 0; };

/**
 * Two threads that each need both locks: take the first (waiting for it), try the
 * second, and on failure let the first go and start again. `first` is each thread's
 * first lock: in opposite orders they can back off in step for ever.
 */
function thread(name: string, self: number, first: number, second: number): ActorDef {
  const b = new ProgramBuilder(name);
  const L = (at: number) => ({ at });
  b.steps('lock', 'worker', 'spin_lock(first)', [br('try', [b.a('lock', set, L(first))], b.g('free', free, L(first)))]);
  b.steps('try', 'worker', 'if (!spin_trylock(second)) goto back', [br('work', [b.a('lock', set, L(second))], b.g('free', free, L(second))), br('back')]);
  b.steps('back', 'worker', 'spin_unlock(first); goto lock', [br('lock', [b.a('unlock', clear, L(first))])]);
  b.steps('work', 'worker', 'work; spin_unlock both', [br('done', [b.a('unlock', clear, L(second)), b.a('unlock2', clear, L(first))])]);
  b.final('done');
  return { name, kind: 'worker', machine: programMachine(b, 'lock', self), locals: b.locals, initialLocals: b.initialLocals() };
}

/** A thread that waits for a flag by polling (a step per look), and one that sets it. */
function poller(): ActorDef[] {
  const w = new ProgramBuilder('waiter');
  w.steps('poll', 'waiter', 'while (!READ_ONCE(flag)) cpu_relax()', [br('done', [], w.g('flag set', (m) => m[0] === 1)), br('poll')]);
  w.final('done');
  const s = new ProgramBuilder('setter');
  s.steps('set', 'setter', 'WRITE_ONCE(flag, 1)', [br('done', [s.a('set flag', set, { at: 0 })])]);
  s.final('done');
  return [
    { name: 'waiter', kind: 'waiter', machine: programMachine(w, 'poll', 0), locals: w.locals, initialLocals: w.initialLocals() },
    { name: 'setter', kind: 'setter', machine: programMachine(s, 'set', 1), locals: s.locals, initialLocals: s.initialLocals() },
  ];
}

/**
 * A thread that retries a lock that is never free (lock0 is held from the start):
 * each try takes and drops lock1, which the other thread waits for, so that thread
 * is disabled on part of every retry and weak fairness does not make it step. The
 * kernel would count the retries; with the counter abstracted away, `bounded` marks
 * GIVE_UP as the loop's fair exit (the counter ends every run of retries), and
 * without it the retry is unbounded.
 */
function retrier(bounded: boolean): ActorDef[] {
  const t = new ProgramBuilder('retrier');
  t.steps('try', 'retrier', 'if (trylock(lock0)) done; else spin_lock(lock1)', [
    br('done', [t.a('lock', set, { at: 0 })], t.g('free', free, { at: 0 })),
    br('busy', [t.a('lock', set, { at: 1 })], t.g('free', free, { at: 1 })),
  ]);
  const giveUp = br('done', [t.a('unlock', clear, { at: 1 }), t.a('gave up', set, { at: 0 })]);
  t.step('busy', 'retrier', 'spin_unlock(lock1); retry (pass < 10), or give up', {
    RETRY: [br('try', [t.a('unlock', clear, { at: 1 })])],
    GIVE_UP: [bounded ? fairExit(giveUp) : giveUp],
  });
  t.final('done');
  const o = new ProgramBuilder('owner');
  o.steps('hold', 'owner', 'spin_lock(lock1)', [br('done', [], o.g('free', free, { at: 1 }))]);
  o.final('done');
  return [
    { name: 'retrier', kind: 'retrier', machine: programMachine(t, 'try', 0), locals: t.locals, initialLocals: t.initialLocals() },
    { name: 'owner', kind: 'owner', machine: programMachine(o, 'hold', 1), locals: o.locals, initialLocals: o.initialLocals() },
  ];
}

const model = (actors: ActorDef[], liveness = true): Model => ({
  actors, world: new Uint8Array(2), properties: [], liveness,
  view: { pages: 0, pageLabel: String, listName: String, globals: [{ name: 'lock0', at: 0 }, { name: 'lock1', at: 1 }] },
});
const meta = { system: 'toy', kernel: '-', scope: {}, variant: null };

describe('livelocks under weak fairness', () => {
  it('finds two threads backing off in step for ever, as a lasso that replays', () => {
    const c = compile(model([thread('t0', 0, 0, 1), thread('t1', 1, 1, 0)]));
    expect(hasLoops(c)).toBe(true);
    const r = search(c);
    expect(r.verdict).toBe('violation');
    const v = r.violation!;
    expect(v).toMatchObject({ kind: 'termination', property: 'livelock' });
    expect(exitCodeOf(v.kind)).toBe(13);
    expect(v.message).toMatch(/t0, t1 stepping\), so t0, t1 never finish$/);
    // The initial state is on the cycle: take, take, back off, back off.
    expect(v.loop).toBe(0);
    const trace = rebuild(c, v, meta, true);
    expect(trace.loop).toBe(0);
    const last = trace.states[trace.states.length - 1];
    expect([...trace.states[trace.loop!]]).toEqual([...last]);
    // Both threads step in the loop (weak fairness holds along it).
    expect(new Set(trace.steps.slice(trace.loop).map((s) => s.actor))).toEqual(new Set(['t0', 't1']));
    expect(swimlanes(trace, ['t0', 't1'])).toMatch(/↻ \| the loop starts here/);
    // The file says where the loop starts, and replay comes back there.
    const file = parseTraceFile(toItf(c, trace));
    expect(file.loop).toBe(0);
    expect(lassoOf(c, file.steps, file.violation).loop).toBe(0);
  });

  it('passes the same threads taking the locks in one order', () => {
    const c = compile(model([thread('t0', 0, 0, 1), thread('t1', 1, 0, 1)]));
    expect(hasLoops(c)).toBe(true);
    const r = search(c);
    expect(r.verdict).toBe('pass');
    expect(r.liveness!.states).toBe(r.states);
  });

  it('passes a polling loop: the setter, always enabled, must step', () => {
    const r = search(compile(model(poller())));
    expect(r.verdict).toBe('pass');
    expect(r.liveness).toBeDefined();
  });

  it('finds a retry loop without its bound, and passes it with the bound as a fair exit', () => {
    // lock0 starts held (by whoever the owner waits for): the retrier can only give up.
    const held = (actors: ActorDef[]): Model => ({ ...model(actors), world: Uint8Array.from([1, 0]) });
    const unbounded = compile(held(retrier(false)));
    const r = search(unbounded);
    expect(r.violation).toMatchObject({ kind: 'termination', property: 'livelock' });
    const trace = rebuild(unbounded, r.violation!, meta, true);
    // Only the retrier steps in the loop; the owner is disabled on part of it.
    expect(new Set(trace.steps.slice(trace.loop).map((s) => s.actor))).toEqual(new Set(['retrier']));
    expect(unfairLoop(unbounded, trace.steps, trace.states, trace.loop!)).toBeNull();
    // The same states with GIVE_UP declared as the bounded exit: no fair cycle left.
    const bounded = compile(held(retrier(true)));
    expect(bounded.actors[0].branches.filter((b) => b.fairExit).map((b) => b.event)).toEqual(['GIVE_UP']);
    const p = search(bounded);
    expect(p.verdict).toBe('pass');
    expect(p.liveness!.states).toBe(r.states);
    // The unbounded lasso is unfair once the exit is declared.
    expect(unfairLoop(bounded, trace.steps, trace.states, trace.loop!)).toMatch(/fair exit/);
  });

  it('keeps a cycle that takes the fair exit: a loop around the bounded one is not excused', () => {
    // An outer loop that starts the bounded retry again after each give-up is still a livelock.
    const t = new ProgramBuilder('t');
    t.step('busy', 't', 'retry or give up', { RETRY: [br('busy')], GIVE_UP: [fairExit(br('again'))] });
    t.steps('again', 't', 'goto busy', [br('busy')]);
    const c = compile(model([{ name: 't', kind: 't', machine: programMachine(t, 'busy', 0), locals: t.locals, initialLocals: t.initialLocals() }]));
    const r = search(c);
    expect(r.violation).toMatchObject({ property: 'livelock' });
    const trace = rebuild(c, r.violation!, meta, true);
    expect(trace.steps.slice(trace.loop).map((s) => s.event)).toContain('GIVE_UP');
    expect(unfairLoop(c, trace.steps, trace.states, trace.loop!)).toBeNull();
  });

  it('refuses a fair exit on a local step', () => {
    const t = new ProgramBuilder('t');
    t.localStep('a', 't', 'local', [fairExit(br('done'))]);
    t.final('done');
    expect(() => compile(model([{ name: 't', kind: 't', machine: programMachine(t, 'a', 0), locals: t.locals, initialLocals: t.initialLocals() }]))).toThrow(/local step takes no choice/);
  });

  it('is off where the model does not ask for it, unless asked', () => {
    const c = compile(model([thread('t0', 0, 0, 1), thread('t1', 1, 1, 0)], false));
    expect(search(c).verdict).toBe('pass');
    expect(search(c, { liveness: true }).verdict).toBe('violation');
    expect(search(compile(model([thread('t0', 0, 0, 1), thread('t1', 1, 1, 0)])), { liveness: false }).verdict).toBe('pass');
  });
});

describe('check --liveness', () => {
  const ROOT = new URL('..', import.meta.url).pathname;
  const run = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/pagerace.js'), ...args], { encoding: 'utf8', cwd: ROOT });

  it('runs the liveness pass after a passing search and says so', () => {
    const r = run(['check', 'reporting', '--liveness', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.verdict).toBe('pass');
    expect(j.liveness.states).toBeGreaterThan(0);
  }, 60_000);

  it('refuses --shard and contradictory flags with one line, exit 2', () => {
    for (const args of [['--liveness', '--shard', '1/2'], ['--liveness', '--no-liveness']]) {
      const r = run(['check', 'nonlru', ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 60_000);
});

describe('liveness on every system', () => {
  // The smallest scope of each system (unmovable's files and gmem at 1: it does not
  // build with none). A pass covers every state again; a livelock would be a lasso
  // that replays, its loop and preemptions as recorded, and fair. migrate_pages()'s
  // forced passes (nonlru, balloon, zsmalloc) and unmovable's -EAGAIN retry are
  // uncounted in the models, their give-up marked as the bounded exit: no system
  // livelocks.
  const livelocks: string[] = [];
  for (const sys of SYSTEMS) {
    it(`${sys.name} at its smallest scope`, () => {
      const scope = Object.fromEntries(Object.entries(sys.scope).map(([k, v]) => [k, sys.name === 'unmovable' && k !== 'cpus' ? 1 : v.min]));
      const o = check(sys.name, scope, null, { liveness: true });
      if (o.result.verdict === 'pass') {
        expect(o.result.liveness!.states).toBe(o.result.states);
        return;
      }
      expect(o.result.violation).toMatchObject({ kind: 'termination', property: 'livelock' });
      livelocks.push(sys.name);
      const r = replay(toItf(o.compiled, o.trace!));
      expect(r.matches).toBe(true);
      expect(r.trace.loop).toBe(o.trace!.loop);
      expect(r.trace.preemptions).toBe(o.trace!.preemptions);
      const states = o.trace!.states;
      expect([...states[o.trace!.loop!]]).toEqual([...states[states.length - 1]]);
      expect(unfairLoop(o.compiled, o.trace!.steps, states, o.trace!.loop!)).toBeNull();
    }, 60_000);
  }
  it('finds no livelock: every uncounted retry has its bounded exit marked', () => {
    expect(livelocks).toEqual([]);
  });
  it('finds the livelock of the unbounded migrate_pages() loop without the fair exit: the lasso is fair and replays', () => {
    const o = check('nonlru', { cpus: 1, pages: 1 }, 'migrate-passes-unbounded');
    expect(o.result.violation).toMatchObject({ kind: 'termination', property: 'livelock' });
    const t = o.trace!;
    expect(unfairLoop(o.compiled, t.steps, t.states, t.loop!)).toBeNull();
    // The loop is the CPU's retried pass, RETRY each time round.
    expect(t.steps.slice(t.loop).filter((s) => s.event === 'RETRY').length).toBeGreaterThan(0);
    expect(replay(toItf(o.compiled, t)).matches).toBe(true);
  }, 60_000);
});

describe('pagerace list', () => {
  const ROOT = new URL('..', import.meta.url).pathname;
  it('shows the built-in properties livelock and uncaught-exception beside deadlock, with rule and source', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/pagerace.js'), 'list', '--json'], { encoding: 'utf8', cwd: ROOT });
    expect(r.status).toBe(0);
    for (const s of JSON.parse(r.stdout) as { properties: { name: string; kind: string; rule: string; source: string }[] }[]) {
      const built = s.properties.filter((p) => ['deadlock', 'uncaught-exception', 'livelock'].includes(p.name));
      expect(built.map((p) => `${p.name}:${p.kind}`)).toEqual(['deadlock:deadlock', 'uncaught-exception:kernel-bug', 'livelock:termination']);
      for (const p of built) expect(p.rule.length * p.source.length).toBeGreaterThan(0);
    }
    const t = spawnSync(process.execPath, [join(ROOT, 'bin/pagerace.js'), 'list'], { encoding: 'utf8', cwd: ROOT });
    expect(t.stdout).toMatch(/^ {4}livelock \(termination\): Every run ends/m);
    expect(t.stdout).toMatch(/^ {4}uncaught-exception \(kernel-bug\): No step throws/m);
  });
});
