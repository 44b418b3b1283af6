/**
 * Random search for scopes no exhaustive search holds (`pagerace simulate`, after
 * Quint's and TLC's simulation): runs of random schedules, each a list of choices
 * that fast-check generates, and, on a failure, fast-check's shrinking of that list,
 * single steps dropped, a shorter trace from the caller's `lift` if it has one (a
 * smaller scope's, src/simulate.ts), and otherwise a preemption-bounded search
 * around the shrunk schedule.
 *
 * A schedule is a list of numbers: at each step the enabled steps are listed (actor
 * by actor, event by event, as the walker lists them) and choice i picks option
 * `choices[i] % options`; past the end of the list the first option is taken. So a
 * run is a function of its list, and a shorter list, or smaller numbers, make a
 * simpler schedule: what fast-check's shrinking (dropping entries, lowering values)
 * moves towards. The same seed gives the same runs, the same failure and the same
 * shrunk schedule.
 *
 * Around the shrunk schedule, when the lift gave nothing shorter: only the actors
 * that step in it step (the others stay where they start), exhaustive over
 * schedules with at most as many preemptions as it has, within a budget; a shorter
 * violation found there is the one reported (any violation it finds is one of the
 * whole system: frozen actors simply do not run; at nonlru 8x13 it found none
 * shorter for any committed variant). Invariants and kernel assertions only: a deadlock or an end state there
 * could be one of the restriction.
 */
import fc from 'fast-check';
import type { Compiled, CompiledBranch } from './compile.ts';
import { checkStep, checkStuck, enabledBranch, runLocalChain, takeStep, type Finding } from './check.ts';
import { walkBounded } from './bounded.ts';
import type { FoundViolation, StepRef } from './walker.ts';

export interface SimulateOptions {
  readonly runs: number;
  readonly seed: number;
  /** Stop looking for a failure after this long (shrinking a failure found is not cut short). */
  readonly maxSeconds?: number;
  /** Steps per run at most (a run that reaches it ends without a verdict). */
  readonly maxSteps?: number;
  /** Chain local steps (default on), as check does. */
  readonly por?: boolean;
  /** States the search around the shrunk schedule may store. */
  readonly aroundStates?: number;
  /**
   * A shorter trace from elsewhere, tried after the steps are dropped and before
   * the search around them (src/simulate.ts: an exhaustive search at a smaller
   * scope, its trace replayed at this one). Given the current best violation, it
   * returns a shorter one of this compiled model, checked by replay, or null; when
   * it gives one, the search around is skipped.
   */
  readonly lift?: (best: FoundViolation) => FoundViolation | null;
  readonly onProgress?: (p: { runs: number; steps: number; seconds: number }) => void;
}

export interface SimulateResult {
  readonly verdict: 'pass' | 'violation' | 'incomplete';
  /** Runs completed (the failing one included). */
  readonly runs: number;
  /** Steps taken over all runs while searching (shrinking not included). */
  readonly steps: number;
  readonly seconds: number;
  readonly seed: number;
  readonly limit?: string;
  readonly violation?: FoundViolation;
  /** How the reported trace was reached: the failing run's length, after shrinking, after the search around it. */
  readonly shrinking?: {
    /**
     * Steps of the failing run; after fast-check's shrinking; after freezing actors and
     * dropping steps; of the trace lifted from a smaller scope, and of the bounded
     * search's find (null: none, or not run).
     */
    readonly found: number; readonly shrunk: number; readonly dropped: number; readonly lifted: number | null; readonly around: number | null; readonly shrinks: number;
    /** Actors that step in the reported trace. */
    readonly actors: number;
    /** Seconds spent shrinking, and searching around the shrunk schedule. */
    readonly shrinkSeconds: number; readonly aroundSeconds: number;
  };
}

/** A run of one schedule. */
export interface ScheduleRun {
  readonly finding: Finding | null;
  readonly steps: readonly StepRef[];
  /** The key of each step taken (see optionKey): the run as a list of choices that replays it. */
  readonly keys: readonly number[];
  readonly preemptions: number;
  /** 'done': every actor finished; 'cut': maxSteps reached. */
  readonly end: 'violation' | 'done' | 'cut';
}

export const DEFAULT_MAX_STEPS = 4096;
/** Simpler lists fast-check may try when shrinking (each is one run). */
const MAX_SHRINK_TRIES = 2000;
/**
 * The search around a shrunk schedule stores at most this many states (a state of a
 * large scope is a kilobyte or more; a count, not a time, so that a seed gives the
 * same trace on any machine). It only ever replaces the shrunk trace by a shorter
 * one, so a search cut short loses nothing.
 */
const AROUND_STATES = 200_000;
/** The bound of the search around: its states grow with it, and the budget above cuts it anyway. */
const AROUND_PREEMPTIONS = 3;
/** Passes of dropping single steps from the shrunk schedule (each tries every step). */
const DROP_PASSES = 4;

/**
 * A step's key among the options: its actor and the index of its event at the
 * actor's state. A choice equal to an enabled option's key takes that option;
 * any other choice c takes option c % options. So the list of keys of a run
 * replays it, and dropping one entry drops one step and leaves the others as they
 * were wherever they are still enabled: what makes shrinking shorten schedules.
 * Random choices (up to 0xffff) rarely equal a key and pick uniformly.
 */
const optionKey = (actor: number, group: number): number => (actor << 6) | group;

/**
 * Run the schedule `choices` from the initial state, checking every property after
 * each step. Actors with frozen[a] = 1 never step; a run where only they could move
 * ends without a verdict ('cut'): it is stuck only because of the restriction.
 */
export function runSchedule(c: Compiled, choices: ArrayLike<number>, maxSteps = DEFAULT_MAX_STEPS, por = true, frozen?: Uint8Array): ScheduleRun {
  let cur = Uint8Array.from(c.initial);
  let next = new Uint8Array(c.stateSize);
  const steps: StepRef[] = [];
  const keys: number[] = [];
  let initialBad: Finding | null = null;
  if (por) for (let a = 0; a < c.actors.length && !initialBad; a++) initialBad = runLocalChain(c, a, cur);
  initialBad ??= checkStep(c, null, cur, -1);
  if (initialBad) return { finding: initialBad, steps, keys, preemptions: 0, end: 'violation' };
  const optActor: number[] = [];
  const optKey: number[] = [];
  const optBranch: (CompiledBranch | Finding)[] = [];
  const optCode: number[] = [];
  let preemptions = 0;
  let last = -1;
  // maxSteps steps at most, then a look at the state they reach (it may be an end state).
  for (let i = 0; ; i++) {
    optActor.length = optBranch.length = optCode.length = optKey.length = 0;
    let lastEnabled = false;
    for (let a = 0; a < c.actors.length; a++) {
      if (frozen?.[a]) continue;
      const groups = c.actors[a].groups[cur[c.actors[a].base]];
      for (let gi = 0; gi < groups.length; gi++) {
        const g = groups[gi];
        const br = enabledBranch(c, a, g, cur);
        if (br === null) continue;
        optActor.push(a);
        optKey.push(optionKey(a, gi));
        optBranch.push(br);
        // A guard that fired an assertion is recorded as its event's first branch, as the walker does.
        optCode.push((a << 16) | ('kind' in br ? g[0].id : br.id));
        if (a === last) lastEnabled = true;
      }
    }
    if (optActor.length === 0) {
      if (frozen?.includes(1)) return { finding: null, steps, keys, preemptions, end: 'cut' };
      const why = checkStuck(c, cur);
      return { finding: why, steps, keys, preemptions, end: why ? 'violation' : 'done' };
    }
    if (i === maxSteps) return { finding: null, steps, keys, preemptions, end: 'cut' };
    let k = 0;
    if (i < choices.length) {
      k = optKey.indexOf(choices[i]);
      if (k < 0) k = choices[i] % optActor.length;
    }
    keys.push(optKey[k]);
    const a = optActor[k];
    if (lastEnabled && a !== last) preemptions++;
    last = a;
    steps.push({ actor: a, branch: optCode[k] & 0xffff });
    const br = optBranch[k];
    if ('kind' in br) return { finding: br, steps, keys, preemptions, end: 'violation' };
    const bad = takeStep(c, a, br, cur, next, por);
    if (bad) return { finding: bad, steps, keys, preemptions, end: 'violation' };
    [cur, next] = [next, cur];
  }
}

/** Steps of a run that count in a trace's length (a chain of local steps is one walker step already). */
const lengthOf = (r: ScheduleRun): number => r.steps.length;

export function simulate(c: Compiled, opts: SimulateOptions): SimulateResult {
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const maxSteps = opts.maxSteps ?? DEFAULT_MAX_STEPS;
  const por = opts.por ?? true;
  const schedules = fc.array(fc.nat({ max: 0xffff }), { maxLength: maxSteps, size: 'max' });
  let runs = 0;
  let steps = 0;
  let lastProgress = t0;
  // First look for a failing run, within the time given; no shrinking yet.
  const searching = fc.check(fc.property(schedules, (choices) => {
    const r = runSchedule(c, choices, maxSteps, por);
    runs++;
    steps += r.steps.length;
    const now = performance.now();
    if (opts.onProgress && now - lastProgress >= 1000) {
      lastProgress = now;
      opts.onProgress({ runs, steps, seconds: (now - t0) / 1000 });
    }
    return r.finding === null;
  }), {
    seed: opts.seed, numRuns: opts.runs, endOnFailure: true,
    ...(opts.maxSeconds !== undefined ? { interruptAfterTimeLimit: opts.maxSeconds * 1000, markInterruptAsFailure: false } : {}),
  });
  const base = { runs, steps, seed: opts.seed };
  if (!searching.failed || searching.counterexample === null) {
    const interrupted = searching.interrupted || runs < opts.runs;
    return { ...base, seconds: seconds(), verdict: interrupted ? 'incomplete' : 'pass', ...(interrupted ? { limit: `--max-seconds ${opts.maxSeconds}` } : {}) };
  }
  const found = runSchedule(c, searching.counterexample[0], maxSteps, por);
  // Then shrink it, as the list of its steps' keys (see optionKey), and a simpler
  // list counts only when its run fails in no more steps than the best so far (a
  // longer run is cut there), so shrinking also shortens the trace. The failing
  // list is given to fast-check as an example to shrink, with no time limit: the
  // same seed always gives the same shrunk schedule.
  const tShrink = performance.now();
  let bestLength = lengthOf(found);
  const shortEnough = (choices: number[]): boolean => {
    const r = runSchedule(c, choices, bestLength, por);
    if (r.finding === null) return true;
    bestLength = Math.min(bestLength, lengthOf(r));
    return false;
  };
  const shrinking = fc.check(fc.property(fc.limitShrink(schedules, MAX_SHRINK_TRIES), shortEnough), {
    seed: opts.seed, numRuns: 1, examples: [[[...found.keys]]],
  });
  const simpler = shrinking.failed && shrinking.counterexample ? runSchedule(c, shrinking.counterexample[0], maxSteps, por) : found;
  const shrunk = simpler.finding && lengthOf(simpler) <= lengthOf(found) ? simpler : found;
  const tAround = performance.now();
  let best = shrunk;
  let around: number | null = null;
  let dropped = lengthOf(shrunk);
  let lifted: number | null = null;
  if (shrunk.finding && (shrunk.finding.kind === 'invariant' || shrunk.finding.kind === 'kernel-bug')) {
    // Which actors does the failure need? Freeze each in turn (its steps dropped);
    // keep it frozen when the rest still fails in no more steps.
    const frozen = new Uint8Array(c.actors.length);
    for (let a = 0; a < c.actors.length; a++) {
      frozen[a] = 1;
      const keys = best.keys.filter((k) => k >>> 6 !== a);
      const r = runSchedule(c, keys, lengthOf(best), por, frozen);
      if (r.finding && (r.finding.kind === 'invariant' || r.finding.kind === 'kernel-bug')) best = r;
      else frozen[a] = 0;
    }
    // Drop single steps while the run still fails, sooner (each pass tries every step once).
    const bad = (r: ScheduleRun) => r.finding !== null && (r.finding.kind === 'invariant' || r.finding.kind === 'kernel-bug');
    for (let pass = 0, changed = true; changed && pass < DROP_PASSES; pass++) {
      changed = false;
      for (let i = best.keys.length - 1; i >= 0; i--) {
        if (i >= best.keys.length) continue;
        const r = runSchedule(c, [...best.keys.slice(0, i), ...best.keys.slice(i + 1)], lengthOf(best) - 1, por, frozen);
        if (bad(r)) { best = r; changed = true; }
      }
    }
    dropped = lengthOf(best);
    const toViolation = (r: ScheduleRun): FoundViolation => ({ ...r.finding!, steps: r.steps, preemptions: r.preemptions });
    const l = opts.lift?.(toViolation(best)) ?? null;
    if (l !== null && l.steps.length < lengthOf(best)) {
      lifted = l.steps.length;
      best = { finding: l, steps: l.steps, keys: [], preemptions: l.preemptions, end: 'violation' };
    }
  }
  if (lifted === null && shrunk.finding && (shrunk.finding.kind === 'invariant' || shrunk.finding.kind === 'kernel-bug')) {
    const still = c.actors.map((_, a) => a).filter((a) => !best.steps.some((st) => st.actor === a));
    // Then every schedule of the actors left with at most as many preemptions (up to
    // a bound), fewest first: a shorter violation found there is reported instead.
    const r = walkBounded(c, Math.min(best.preemptions, AROUND_PREEMPTIONS), { por, symmetry: false, frozen: still, maxStates: opts.aroundStates ?? AROUND_STATES });
    if (r.violation) {
      around = r.violation.steps.length;
      if (around < lengthOf(best)) best = { finding: r.violation, steps: r.violation.steps, keys: [], preemptions: r.violation.preemptions, end: 'violation' };
    }
  }
  const f = best.finding!;
  return {
    ...base, seconds: seconds(), verdict: 'violation',
    violation: { kind: f.kind, property: f.property, message: f.message, steps: best.steps, preemptions: best.preemptions },
    shrinking: {
      found: lengthOf(found), shrunk: lengthOf(shrunk), dropped, lifted, around, shrinks: shrinking.numShrinks, actors: new Set(best.steps.map((x) => x.actor)).size,
      shrinkSeconds: (tAround - tShrink) / 1000, aroundSeconds: (performance.now() - tAround) / 1000,
    },
  };
}
