/**
 * The limits and progress reports of a search (`--max-states`, `--max-seconds`,
 * `--max-memory`, the progress line), one piece for the breadth-first walker
 * (walker.ts) and the preemption-bounded search (bounded.ts), which expand states
 * in the same loop shape: a check every 4096 states expanded, so that reading the
 * clock costs nothing per state.
 */
import type { Progress, WalkOptions } from './walker.ts';

/** How a result names the limit that stopped it: the flag, as the user gives it. */
export function limitHit(which: 'states' | 'seconds' | 'memory', opts: Pick<WalkOptions, 'maxStates' | 'maxSeconds' | 'maxBytes'>): string {
  if (which === 'states') return `--max-states ${opts.maxStates}`;
  if (which === 'seconds') return `--max-seconds ${opts.maxSeconds}`;
  return `--max-memory ${Math.round((opts.maxBytes ?? 0) / 2 ** 20)}`;
}

export class SearchLimits {
  readonly t0 = performance.now();
  /** The limit that stopped the search, as limitHit names it. */
  limit: string | undefined;
  private readonly maxStates: number;
  private readonly maxMs: number;
  private readonly maxBytes: number;
  private readonly progressMs: number;
  private lastProgress = this.t0;
  private expanded = 0;

  constructor(private readonly opts: Pick<WalkOptions, 'maxStates' | 'maxSeconds' | 'maxBytes' | 'onProgress' | 'progressMs'>) {
    this.maxStates = opts.maxStates ?? Infinity;
    this.maxMs = (opts.maxSeconds ?? Infinity) * 1000;
    this.maxBytes = opts.maxBytes ?? Infinity;
    this.progressMs = opts.progressMs ?? 1000;
  }

  /** Before expanding a state: true every 4096 calls, when check() is to be called. */
  due(): boolean {
    return (this.expanded++ & 4095) === 0;
  }

  /** True (and `limit` set) when the time or memory limit is reached; else reports progress when it is time to. */
  check(bytes: number, progress: Omit<Progress, 'seconds'>): boolean {
    const now = performance.now();
    if (now - this.t0 > this.maxMs) { this.limit = limitHit('seconds', this.opts); return true; }
    if (bytes > this.maxBytes) { this.limit = limitHit('memory', this.opts); return true; }
    if (this.opts.onProgress && now - this.lastProgress >= this.progressMs) {
      this.lastProgress = now;
      this.opts.onProgress({ ...progress, seconds: (now - this.t0) / 1000 });
    }
    return false;
  }

  /** After storing a state: true (and `limit` set) when `count` states reach --max-states. */
  stored(count: number): boolean {
    if (count < this.maxStates) return false;
    this.limit = limitHit('states', this.opts);
    return true;
  }

  /** Seconds since the search started. */
  seconds(): number {
    return (performance.now() - this.t0) / 1000;
  }
}
