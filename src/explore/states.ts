/**
 * The records a breadth-first search keeps per state, in typed arrays only: the
 * fingerprint set, the frontier by depth, and per state its parent, the step that
 * reached it, its depth, its preemption count and the actor that stepped last.
 * One table serves the single-threaded walker; each worker of a parallel search
 * keeps one for the states its fingerprints own.
 */
import { ChunkedU16, ChunkedU32, ChunkedU8, DepthBuckets, FingerprintSet } from './store.ts';

/** The parent of the initial state. */
export const NO_PARENT = 0xffffffff;
/** lastActor of the initial state: no actor stepped, so nothing is a preemption. */
export const NO_ACTOR = 255;

export class StateTable {
  readonly seen = new FingerprintSet(16);
  readonly frontier: DepthBuckets;
  /** Opaque to the table: a state id, or (parallel search) a reference to a state in another worker. */
  private readonly parent = new ChunkedU32();
  /**
   * The step that led here, actor << 16 | branch id in the parent's frame, and in
   * the top byte the stepping actor's index in this state's frame (for preemptions;
   * it differs from the first when symmetry renamed the actors). Actors are < 256.
   */
  private readonly via = new ChunkedU32();
  private readonly preempt = new ChunkedU8();
  private readonly depth = new ChunkedU16();
  count = 0;

  constructor(stateSize: number, private readonly visit?: (state: Uint8Array) => void) {
    this.frontier = new DepthBuckets(stateSize);
  }

  /** Store and queue a new state; returns its id. */
  add(state: Uint8Array, from: number, code: number, pre: number, last: number, d: number): number {
    this.visit?.(state);
    const id = this.count++;
    this.frontier.push(d, id, state);
    this.parent.set(id, from);
    this.via.set(id, (code | (last << 24)) >>> 0);
    this.preempt.set(id, pre);
    this.depth.set(id, d);
    return id;
  }

  /**
   * A successor found while expanding depth `d`: a new state is stored and queued
   * (returns true). A known state beyond depth `d` has not been expanded, so no
   * parent link can loop through it: a shorter path, or one as short with fewer
   * preemptions, becomes its parent (the first found among equals stays).
   */
  offer(state: Uint8Array, lo: number, hi: number, from: number, code: number, nd: number, pre: number, last: number, d: number): boolean {
    const old = this.seen.getOrInsert(lo, hi, this.count);
    if (old < 0) {
      this.add(state, from, code, pre, last, nd);
      return true;
    }
    const od = this.depth.get(old);
    if (od > d && (nd < od || (nd === od && pre < this.preempt.get(old)))) {
      this.parent.set(old, from);
      this.via.set(old, (code | (last << 24)) >>> 0);
      this.preempt.set(old, pre);
      if (nd < od) {
        this.depth.set(old, nd);
        this.frontier.push(nd, old, state);
      }
    }
    return false;
  }

  parentOf(id: number): number { return this.parent.get(id); }
  viaOf(id: number): number { return this.via.get(id) & 0xffffff; }
  preemptionsOf(id: number): number { return this.preempt.get(id); }
  lastActorOf(id: number): number { return this.via.get(id) >>> 24; }
  depthOf(id: number): number { return this.depth.get(id); }

  /** Bytes held by the table's arrays (the frontier's included). */
  get bytes(): number {
    return this.seen.bytes + this.frontier.bytes + this.parent.bytes + this.via.bytes + this.preempt.bytes + this.depth.bytes;
  }
}
