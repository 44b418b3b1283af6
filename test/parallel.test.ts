// --workers: a search split over worker threads gives the single-threaded walker's
// verdict, violated property, shortest length and distinct state count, on committed
// variants of every system, with reductions on and (nonlru) off; the same command
// gives the same trace bytes. The parallel engine knows no system, so two variants per
// system (the first two the system lists) stand for the rest: running all of them
// took two and a half minutes of a suite that must stay well under fifteen.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SYSTEMS } from '../models/index.ts';
import { check, checkParallel, type CheckOutcome } from '../src/index.ts';
import { parseTraceFile, toItf, traceLength } from '../src/trace/trace.ts';

const committedScope = (sys: string, variant: string) =>
  parseTraceFile(readFileSync(new URL(`../counterexamples/${sys}/${variant}.json`, import.meta.url), 'utf8')).scope;

/** What workers must not change. */
const answer = ({ result, trace }: CheckOutcome) => ({
  verdict: result.verdict,
  states: result.states,
  transitions: result.transitions,
  kind: result.violation?.kind,
  property: result.violation?.property,
  length: trace && traceLength(trace.steps),
});

describe('--workers 2 gives the answers of one worker', () => {
  for (const sys of SYSTEMS) {
    for (const v of sys.variants.filter((x) => !x.fix).slice(0, 2)) {
      it(`${sys.name} --variant ${v.name}`, async () => {
        const scope = committedScope(sys.name, v.name);
        const one = check(sys.name, scope, v.name);
        const two = await checkParallel(sys.name, scope, v.name, { workers: 2 });
        expect(answer(two)).toEqual(answer(one));
        expect(two.result.violation!.property).toBe(v.expect.property);
        if (sys.name === 'nonlru') {
          const off = { por: false, symmetry: false };
          expect(answer(await checkParallel(sys.name, scope, v.name, { ...off, workers: 2 }))).toEqual(answer(check(sys.name, scope, v.name, off)));
        }
      }, 120_000);
    }
  }

  for (const [name, scope, reductions] of [
    ['nonlru', { cpus: 2, pages: 2 }, true],
    ['nonlru', { cpus: 2, pages: 1 }, false],
    ['zsmalloc', { cpus: 2, zspages: 1, objects: 2 }, true],
    ['contig', { contigs: 1 }, true],
    ['reporting', {}, true],
  ] as const) {
    it(`${name} ${JSON.stringify(scope)} passes with the same state count${reductions ? '' : ', no reductions'}`, async () => {
      const opts = { por: reductions, symmetry: reductions };
      const one = check(name, scope, null, opts);
      const two = await checkParallel(name, scope, null, { ...opts, workers: 2 });
      expect(one.result.verdict).toBe('pass');
      expect(answer(two)).toEqual(answer(one));
    }, 300_000);
  }

  it('three workers too', async () => {
    const scope = { cpus: 2, pages: 2 };
    expect(answer(await checkParallel('nonlru', scope, 'lock-before-refcount', { workers: 3 }))).toEqual(answer(check('nonlru', scope, 'lock-before-refcount')));
  }, 60_000);

  it('the same command gives the same trace bytes', async () => {
    const scope = { cpus: 2, pages: 2 };
    const runs = await Promise.all([0, 1].map(() => checkParallel('nonlru', scope, 'driver-touches-isolated-lru', { workers: 2, por: false })));
    const [a, b] = runs.map((r) => toItf(r.compiled, r.trace!));
    expect(a).toBe(b);
    expect(runs[0].result.violation!.preemptions).toBe(runs[1].result.violation!.preemptions);
  }, 60_000);

  it('stops at the limits between rounds, incomplete', async () => {
    const scope = { cpus: 2, pages: 2 };
    const byStates = (await checkParallel('nonlru', scope, null, { workers: 2, maxStates: 5000 })).result;
    expect(byStates.verdict).toBe('incomplete');
    expect(byStates.limit).toMatch(/--max-states/);
    expect(byStates.states).toBeGreaterThanOrEqual(5000);
    expect(byStates.states).toBeLessThan(1_404_409);
    const bySeconds = (await checkParallel('nonlru', scope, null, { workers: 2, maxSeconds: 0 })).result;
    expect(bySeconds).toMatchObject({ verdict: 'incomplete', limit: '--max-seconds 0' });
    const byMemory = (await checkParallel('nonlru', scope, null, { workers: 2, maxBytes: 4 * 2 ** 20 })).result;
    expect(byMemory.verdict).toBe('incomplete');
    expect(byMemory.limit).toMatch(/--max-memory/);
  }, 60_000);
});
