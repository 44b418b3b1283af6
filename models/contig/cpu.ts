/**
 * A CPU that allocates one page from the MIGRATE_MOVABLE free lists (rmqueue(),
 * zone->lock held, v5.19) of an order it chooses, then frees it (__free_pages()) or
 * keeps it. The page is movable: alloc_contig_range() may migrate it, which rewrites
 * the CPU's slot (as migration rewrites the owner's page tables).
 */
import { MIGRATE_MOVABLE, __free_pages, rmqueue } from '../../src/kernel/buddy.ts';
import { F_PRIVATE, PAGE_STRIDE } from '../../src/kernel/page.ts';
import { type ActionFn, type GuardFn, ProgramBuilder, br } from '../../src/kernel/program.ts';
import { NO_PAGE } from '../../properties/contig.ts';

/** The name of the CPU's allocation action (variants replace its function). */
export const ACT_CPU_ALLOC = 'page = alloc_pages(GFP_HIGHUSER_MOVABLE, order)';
/** rmqueue(zone, order, MIGRATE_MOVABLE) by `alloc`: slot = page or NULL. */
export const cpuAllocWith = (alloc: (m: Uint8Array, z: number, order: number, owner: number) => number): ActionFn => (m, _L, P, A) => {
  const pfn = alloc(m, P.z, P.order, A);
  m[P.slots + A] = pfn < 0 ? NO_PAGE : pfn;
};
const cpuAlloc = cpuAllocWith((m, z, order, owner) => rmqueue(m, z, order, MIGRATE_MOVABLE, owner));
const holds: GuardFn = (m, _L, P, A) => m[P.slots + A] !== NO_PAGE;
/** __free_pages(slot, compound_order(slot)); slot = NULL. */
const cpuFree: ActionFn = (m, _L, P, A) => {
  const pfn = m[P.slots + A];
  __free_pages(m, P.z, pfn, m[pfn * PAGE_STRIDE + F_PRIVATE]);
  m[P.slots + A] = NO_PAGE;
};

export function cpuProgram(z: number, slots: number, orders: readonly number[]): ProgramBuilder {
  const b = new ProgramBuilder('cpu');
  const on: Record<string, ReturnType<typeof br>[]> = {};
  for (const order of orders) on[`ALLOC_ORDER_${order}`] = [br('hold', [b.a(ACT_CPU_ALLOC, cpuAlloc, { z, slots, order })])];
  b.step('alloc', 'rmqueue', 'spin_lock(&zone->lock); __rmqueue_smallest(zone, order, MIGRATE_MOVABLE); spin_unlock', on);
  b.step('hold', 'cpu', 'free the page, or keep it', {
    FREE: [br('done', [b.a('__free_pages(page, order)', cpuFree, { z, slots })], b.g('page != NULL', holds, { slots }))],
    KEEP: [br('done')],
  });
  b.final('done');
  return b;
}
