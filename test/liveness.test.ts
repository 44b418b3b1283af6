// Liveness: a reachable cycle in which the run never ends under a weakly fair
// scheduler is a livelock (termination, exit 13) with a lasso trace; a loop that a
// fair scheduler always leaves is not.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { programMachine } from '../models/common/machine.ts';
import { compile } from '../src/explore/compile.ts';
import { search } from '../src/explore/search.ts';
import { hasLoops } from '../src/explore/liveness.ts';
import { ProgramBuilder, br } from '../src/kernel/program.ts';
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

  it('refuses --workers and contradictory flags with one line, exit 2', () => {
    for (const args of [['--liveness', '--workers', '2'], ['--liveness', '--no-liveness']]) {
      const r = run(['check', 'nonlru', ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 60_000);
});

describe('liveness on every system', () => {
  // The smallest scope of each system (unmovable's files and gmem at 1: it does not
  // build with none). A pass covers every state again; a livelock is a lasso that
  // replays, its loop and preemptions as recorded. nonlru and balloon livelock in
  // migrate_pages()'s FORCED_PASS retry, unmovable in its -EAGAIN retry (both retries
  // are unbounded choices of the models), which is why liveness is off by default.
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
    }, 60_000);
  }
  it('livelocks where the models retry without bound', () => {
    expect(livelocks.sort()).toEqual(['balloon', 'nonlru', 'unmovable']);
  });
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
