/**
 * vitest matchers for pagerace results (`import 'pagerace/vitest'` once, e.g. in a
 * setup file or at the top of a test):
 *
 *   const result = check('nonlru', { cpus: 2, pages: 1 }, null, { driver: await loadDriver('./my-driver.ts') });
 *   expect(result).toPass();
 *   expect(result).toFailWith('pages-accounted', { within: 45 });
 *
 * `toPass()`: the search covered the whole scope and every property held.
 * `toFailWith(property, { within?, kind? })`: the search found a violation of that
 * property (of that kind), with a shortest trace of at most `within` steps.
 * A failing assertion says what the search found instead, with the trace's first line.
 */
import { expect } from 'vitest';
import { match } from 'ts-pattern';
import type { CheckOutcome } from './index.ts';
import type { ViolationKind } from './system.ts';
import { describeViolation } from './trace/render.ts';
import { traceLength } from './trace/trace.ts';

export interface FailWithOptions {
  /** The trace is at most this many steps long (local steps do not count). */
  readonly within?: number;
  readonly kind?: ViolationKind;
}

interface PageraceMatchers<R = unknown> {
  toPass(): R;
  toFailWith(property: string, opts?: FailWithOptions): R;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Assertion<T = any> extends PageraceMatchers<T> {}
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface AsymmetricMatchersContaining extends PageraceMatchers {}
}

const isOutcome = (x: unknown): x is CheckOutcome =>
  typeof x === 'object' && x !== null && 'result' in x && 'compiled' in x && typeof (x as CheckOutcome).result?.verdict === 'string';

/** What a result says, in a line. */
function found(o: CheckOutcome): string {
  return match(o.result.verdict)
    .with('pass', () => `a pass (${o.result.states} states)`)
    .with('incomplete', () => `an incomplete search (stopped by ${o.result.limit}, ${o.result.states} states)`)
    .with('violation', () => (o.trace ? describeViolation(o.trace) : `a violation of ${o.result.violation?.property}`))
    .exhaustive();
}

expect.extend({
  toPass(received: unknown) {
    if (!isOutcome(received)) return { pass: false, message: () => 'expected the result of pagerace check()' };
    const pass = received.result.verdict === 'pass';
    return {
      pass,
      message: () => (pass ? `expected ${received.system.name} not to pass, but every property held` : `expected ${received.system.name} to pass, but the search found ${found(received)}`),
    };
  },
  toFailWith(received: unknown, property: string, opts: FailWithOptions = {}) {
    if (!isOutcome(received)) return { pass: false, message: () => 'expected the result of pagerace check()' };
    const t = received.trace;
    const steps = t ? traceLength(t.steps) : Infinity;
    const pass = !!t && t.violation.property === property && (opts.kind === undefined || t.violation.kind === opts.kind) && (opts.within === undefined || steps <= opts.within);
    const want = `${opts.kind ? `${opts.kind} ` : ''}${property}${opts.within !== undefined ? ` within ${opts.within} steps` : ''}`;
    return {
      pass,
      message: () => (pass ? `expected no violation of ${want}, but the search found ${found(received)}` : `expected a violation of ${want}, but the search found ${found(received)}`),
    };
  },
});
