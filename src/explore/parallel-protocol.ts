/**
 * What the coordinator of a parallel search and its workers say to each other.
 */
import type { Candidate } from './expand.ts';

/**
 * How a worker gets the compiled system: it imports `module` and awaits
 * `module[export](args)`. The walker does not know how systems are built; the
 * caller (src/index.ts) says.
 */
export interface CompiledSource {
  readonly module: string;
  readonly export: string;
  readonly args: unknown;
}

/** The worker that owns a fingerprint (by its high word; the table hashes both). */
export const ownerOf = (hi: number, workers: number): number => (hi >>> 0) % workers;

/** A successor record between workers: lo, hi, parent reference, step code, depth|preemptions|actor; then the state. */
export const RECORD_HEADER_WORDS = 5;

export type ToWorker =
  /** Expand every state queued at `depth`, exchange successors, report. */
  | { readonly t: 'round'; readonly depth: number; readonly deadline: number }
  /** The parent reference and step code of state `id` (for a trace). */
  | { readonly t: 'parent'; readonly id: number };

export type ToCoordinator =
  | { readonly t: 'ready' }
  | {
    readonly t: 'round';
    /** States expanded in this round. */
    readonly expanded: number;
    readonly timedOut: boolean;
    /** The worker's totals so far. */
    readonly states: number;
    readonly transitions: number;
    readonly bytes: number;
    /** Frontier entries still queued, at any depth and at the round's depth. */
    readonly pending: number;
    readonly pendingHere: number;
    /** Violations found in this round; `state` is the worker's own id. */
    readonly candidates: readonly Candidate[];
  }
  | { readonly t: 'parent'; readonly from: number; readonly via: number }
  | { readonly t: 'error'; readonly message: string };

export type PeerMessage =
  | { readonly t: 'batch'; readonly buf: ArrayBuffer; readonly n: number }
  /** No more batches this round. */
  | { readonly t: 'end' }
  /** A batch's buffer, handed back to its sender for reuse. */
  | { readonly t: 'free'; readonly buf: ArrayBuffer };
