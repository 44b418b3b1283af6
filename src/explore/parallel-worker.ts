/**
 * One worker of a parallel search (see parallel.ts). It owns the states whose
 * fingerprint falls in its share, keeps their StateTable, and expands its frontier
 * one round at a time when the coordinator says so. A successor it owns is offered
 * to its own table at once; any other goes, in batches, to the worker that owns it.
 * After its expansion it takes in the peers' batches in peer order (peer 0 first),
 * not in order of arrival, so state ids, parents and traces do not depend on timing.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { Compiled } from './compile.ts';
import { Expander, type Candidate, type SuccessorSink } from './expand.ts';
import { setStepProbe } from './check.ts';
import { NO_ACTOR, NO_PARENT, StateTable } from './states.ts';
import { ownerOf, RECORD_HEADER_WORDS, type CompiledSource, type ToCoordinator, type ToWorker, type PeerMessage } from './parallel-protocol.ts';

interface Setup {
  readonly source: CompiledSource;
  readonly index: number;
  readonly count: number;
  readonly por: boolean;
  readonly symmetry: boolean;
  /** ports[j]: the channel to worker j (undefined for this worker). */
  readonly ports: (MessagePort | undefined)[];
  /** Where this worker publishes the step it runs (see watchdog.ts). */
  readonly probe: Int32Array;
}

const setup = workerData as Setup;
const coordinator = parentPort!;
const send = (m: ToCoordinator) => coordinator.postMessage(m);

/**
 * Records of (successor, how it was reached) for one peer, posted when full. The
 * peer hands each buffer back once it has taken the records in, so a search
 * allocates buffers for one round's worth of records, not for every record sent.
 */
class Outbox {
  private buf!: ArrayBuffer;
  private words!: Int32Array;
  private n = 0;
  private readonly capacity: number;
  private readonly pool: ArrayBuffer[] = [];
  constructor(private readonly port: MessagePort, private readonly recordWords: number) {
    this.capacity = Math.max(16, Math.floor((256 << 10) / (recordWords * 4)));
    this.fresh();
  }
  private fresh(): void {
    this.buf = this.pool.pop() ?? new ArrayBuffer(this.capacity * this.recordWords * 4);
    this.words = new Int32Array(this.buf);
    this.n = 0;
  }
  recycle(buf: ArrayBuffer): void {
    this.pool.push(buf);
  }
  append(state: Int32Array, lo: number, hi: number, from: number, code: number, nd: number, pre: number, actorThere: number): void {
    const R = this.recordWords;
    const words = this.words;
    let w = this.n * R;
    words[w] = lo;
    words[w + 1] = hi;
    words[w + 2] = from;
    words[w + 3] = code;
    words[w + 4] = (nd << 16) | (pre << 8) | actorThere;
    w += RECORD_HEADER_WORDS;
    for (let i = 0; i < state.length; i++) words[w + i] = state[i];
    if (++this.n === this.capacity) this.flush();
  }
  flush(): void {
    if (this.n === 0) return;
    const m: PeerMessage = { t: 'batch', buf: this.buf, n: this.n };
    this.port.postMessage(m, [this.buf]);
    this.fresh();
  }
}

async function main(): Promise<void> {
  const mod = (await import(setup.source.module)) as Record<string, (args: unknown) => Promise<Compiled> | Compiled>;
  const c = await mod[setup.source.export](setup.source.args);
  setStepProbe(setup.probe);
  const W = setup.count;
  const self = setup.index;
  const S = c.stateSize;
  const recordWords = RECORD_HEADER_WORDS + S / 4;
  const table = new StateTable(S);
  const ex = new Expander(c, setup.por, setup.symmetry);
  const candidates: Candidate[] = [];
  let reported = 0;
  const outboxes = setup.ports.map((p) => (p ? new Outbox(p, recordWords) : null));

  // Peer messages wait here until this worker takes them in, in peer order.
  const inbox: PeerMessage[][] = setup.ports.map(() => []);
  const waiting: ((() => void) | null)[] = setup.ports.map(() => null);
  setup.ports.forEach((p, j) => p?.on('message', (m: PeerMessage) => {
    if (m.t === 'free') return outboxes[j]!.recycle(m.buf);
    inbox[j].push(m);
    waiting[j]?.();
  }));
  const nextFrom = async (j: number): Promise<PeerMessage> => {
    while (inbox[j].length === 0) await new Promise<void>((r) => { waiting[j] = r; });
    waiting[j] = null;
    return inbox[j].shift()!;
  };

  const init = ex.initial();
  if ('bad' in init) throw new Error('the coordinator checks the initial state before starting workers');
  if (ownerOf(init.hi, W) === self) table.offer(init.state, init.lo, init.hi, NO_PARENT, 0, 0, 0, NO_ACTOR, -1);

  // The state being expanded, for the sink.
  let s = 0;
  let d = 0;
  const sink: SuccessorSink = (state, lo, hi, code, nd, pre, actorThere, words) => {
    const owner = ownerOf(hi, W);
    if (owner === self) table.offer(state, lo, hi, s * W + self, code, nd, pre, actorThere, d);
    else outboxes[owner]!.append(words, lo, hi, s * W + self, code, nd, pre, actorThere);
    return false;
  };
  const cur = new Uint8Array(S);
  const scratch = new Uint8Array(S);
  const scratchWords = new Int32Array(scratch.buffer);

  /** Expand this worker's states queued at depth `d`; returns how many, and whether time ran out. */
  function expandQueued(deadline: number): { expanded: number; timedOut: boolean } {
    const { frontier } = table;
    let expanded = 0;
    for (s = frontier.pop(d, cur); s >= 0; s = frontier.pop(d, cur)) {
      if (table.depthOf(s) !== d) continue;
      if ((expanded++ & 4095) === 0 && Date.now() > deadline) return { expanded, timedOut: true };
      ex.expand(cur, s, d, table.preemptionsOf(s), table.lastActorOf(s), candidates, sink);
    }
    return { expanded, timedOut: false };
  }

  /** Offer a peer's batch of successors to this worker's table, in the order sent. */
  function takeIn(buf: ArrayBuffer, n: number): void {
    const words = new Int32Array(buf);
    for (let k = 0; k < n; k++) {
      const w = k * recordWords;
      for (let i = 0, at = w + RECORD_HEADER_WORDS; i < scratchWords.length; i++) scratchWords[i] = words[at + i];
      const packed = words[w + 4];
      table.offer(scratch, words[w], words[w + 1], words[w + 2] >>> 0, words[w + 3], packed >>> 16, (packed >>> 8) & 255, packed & 255, d);
    }
  }

  async function round(depth: number, deadline: number): Promise<ToCoordinator> {
    d = depth;
    const { expanded, timedOut } = expandQueued(deadline);
    for (const [j, box] of outboxes.entries()) {
      if (!box) continue;
      box.flush();
      setup.ports[j]!.postMessage({ t: 'end' } satisfies PeerMessage);
    }
    for (let j = 0; j < W; j++) {
      if (j === self) continue;
      for (let m = await nextFrom(j); m.t === 'batch'; m = await nextFrom(j)) {
        takeIn(m.buf, m.n);
        setup.ports[j]!.postMessage({ t: 'free', buf: m.buf } satisfies PeerMessage, [m.buf]);
      }
    }
    const found = candidates.slice(reported);
    reported = candidates.length;
    return {
      t: 'round', expanded, timedOut, states: table.count, transitions: ex.transitions, bytes: table.bytes,
      pending: table.frontier.pending, pendingHere: table.frontier.countAt(d), candidates: found,
    };
  }

  coordinator.on('message', (m: ToWorker) => {
    const reply = (): Promise<ToCoordinator> | ToCoordinator => {
      switch (m.t) {
        case 'round': return round(m.depth, m.deadline);
        case 'parent': return { t: 'parent', from: table.parentOf(m.id), via: table.viaOf(m.id) };
      }
    };
    Promise.resolve()
      .then(reply)
      .then(send, (e: unknown) => send({ t: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) }));
  });
  send({ t: 'ready' });
}

main().catch((e: unknown) => send({ t: 'error', message: e instanceof Error ? e.stack ?? e.message : String(e) }));
