/** The zone->lock sections of the reporting system's actors, over a set of free-list hooks. */
import {
  AERATION_HOOKS, ZONE_AERATION_ACTIVE, put_aeration_page, aerator_drain, aerator_fill, aerator_populate_boundaries, batchHead,
  free_pages_aerated_zone, requested,
} from '../../src/kernel/aeration.ts';
import { MIGRATE_MOVABLE, Z_FLAGS, list_empty_head, rmqueue, type FreeHooks } from '../../src/kernel/buddy.ts';
import { F_PRIVATE, PAGE_STRIDE } from '../../src/kernel/page.ts';
import type { ActionFn } from '../../src/kernel/program.ts';

export const NO_PAGE = 0xff;
export const batchEmpty = (m: Uint8Array, z: number): boolean => list_empty_head(m, z, batchHead(m, z));
/** The end of a zone->lock section with nothing to react on: clear_bit(ZONE_AERATION_ACTIVE); on to the idle check. */
export function endScrub(m: Uint8Array, P: Readonly<Record<string, number>>): void {
  m[P.z + Z_FLAGS] &= ~ZONE_AERATION_ACTIVE;
  m[P.atIdle] = 1;
}

/**
 * The zone->lock sections of the worker and the CPUs, built over a set of free-list
 * hooks (the seed's, or a variant's).
 */
export function aeratorActions(hooks: FreeHooks, put = put_aeration_page, end = endScrub) {
  /** spin_lock; aerator_fill(); if (list_empty(batch)) { clear ACTIVE; spin_unlock; } else spin_unlock. */
  const fill: ActionFn = (m, _L, P) => {
    aerator_fill(m, P.z, P.capacity, hooks);
    if (batchEmpty(m, P.z)) end(m, P);
  };
  /**
   * After react(): spin_lock; aerator_populate_boundaries(); aerator_drain(); while
   * (REQUESTED) { aerator_fill(); if (list_empty(batch)) break; spin_unlock; react ... };
   * clear ACTIVE; spin_unlock. One zone->lock section up to the next react.
   */
  const drain: ActionFn = (m, _L, P) => {
    aerator_populate_boundaries(m, P.z);
    aerator_drain(m, P.z, hooks, put);
    if (requested(m, P.z)) aerator_fill(m, P.z, P.capacity, hooks);
    if (batchEmpty(m, P.z)) end(m, P);
  };
  /** rmqueue(zone, order, MIGRATE_MOVABLE) under zone->lock; del_page_from_free_area() clears PageAerated. */
  const cpuAlloc: ActionFn = (m, L, P, A) => {
    const pfn = rmqueue(m, P.z, P.order, MIGRATE_MOVABLE, A, hooks);
    m[L + P.page] = pfn < 0 ? NO_PAGE : pfn;
  };
  /** __free_pages(page, order): free_one_page() under zone->lock; __free_one_page() ends with aerator_notify_free(zone, order). */
  const cpuFree: ActionFn = (m, L, P) => {
    const pfn = m[L + P.page];
    free_pages_aerated_zone(m, P.z, pfn, m[pfn * PAGE_STRIDE + F_PRIVATE], hooks);
    m[L + P.page] = NO_PAGE;
  };
  return { fill, drain, cpuAlloc, cpuFree };
}
export const SEED = aeratorActions(AERATION_HOOKS);
export const ACT = { fill: 'aerator_fill', drain: 'aerator_drain and refill', cpuAlloc: 'page = alloc_pages(order)', cpuFree: '__free_pages(page, order)' } as const;
