/**
 * zsmalloc's users: a zram-like thread that stores `objects` objects (zs_malloc) and
 * frees them again, the last stored first (zs_free), and the pool's deferred free worker
 * (async_free_zspage). mm/zsmalloc.c, kernel v4.8.
 */
import { type ActionFn, ProgramBuilder, br } from '../../src/kernel/program.ts';
import { freeWorkProgram, zsFree, zsMalloc } from '../../src/kernel/zsmalloc.ts';
import type { ZsLayout } from '../../properties/zsmalloc.ts';

/** Ghost: this actor has finished its work (see ZsLayout.running). */
export const leave: ActionFn = (m, _L, P) => { m[P.running]--; };

export function userProgram(lay: ZsLayout): ProgramBuilder {
  const b = new ProgramBuilder('zram');
  const z = b.local('zspage');
  const res = b.local('res');
  const used = b.local('zspages allocated');
  const last = lay.objects - 1;
  // zs_malloc 0..last, then zs_free last..0: the last object stored is the first freed.
  for (let o = 0; o < lay.objects; o++) zsMalloc(b, `malloc${o}`, lay.pool, o, { z, res, used }, o < last ? `malloc${o + 1}` : `free${last}`);
  for (let o = last; o >= 0; o--) zsFree(b, `free${o}`, lay.pool, o, { z, res }, o > 0 ? `free${o - 1}` : 'exit');
  b.steps('exit', 'zram', 'done with the pool', [br('done', [b.a('finished (ghost)', leave, { running: lay.running })])]);
  b.final('done');
  return b;
}

export function workerProgram(lay: ZsLayout): ProgramBuilder {
  const b = new ProgramBuilder('free_work');
  freeWorkProgram(b, lay.pool, lay.running);
  b.final('done');
  return b;
}

/** Every way a compaction CPU reaches its end also leaves the running count. */
export function cpuLeaves(b: ProgramBuilder, lay: ZsLayout): void {
  const exit = b.a('finished (ghost)', leave, { running: lay.running });
  for (const [label, node] of Object.entries(b.nodes)) {
    if (node.final) continue;
    let touched = false;
    const on = Object.fromEntries(Object.entries(node.on).map(([ev, brs]) => [ev, brs.map((x) => {
      if (x.target !== 'done') return x;
      touched = true;
      return { ...x, actions: [...x.actions, exit] };
    })]));
    if (touched) b.replace(label, on);
  }
}
