/**
 * The non-LRU movable page flag helpers added by the seed's patch 02 to
 * mm/compaction.c (v4.8, the v6r2 version of "mm: migrate: support non-lru movable
 * page migration"), and the guards and effects built on them that the step programs
 * share.
 */
import { KernelBug, VM_BUG_ON_PAGE } from './bug.ts';
import {
  PAGE_MAPPING_MOVABLE, PAGE_STRIDE, F_ISOLATORS, PageLocked, __PageMovable, page_mapping,
  setMappingWord, mappingWord, MAPPING_NULL, MAX_ADDRESS_SPACE, FILE_MAPPING, clearFlag, PG_isolated,
} from './page.ts';

/**
 * PageMovable(): mm/compaction.c. Validates page->mapping under the page lock.
 * In the model every non-NULL address space id stands for a driver mapping whose
 * a_ops has isolate_page (the systems register no other kind of movable mapping).
 */
export function PageMovable(m: Uint8Array, pfn: number): boolean {
  VM_BUG_ON_PAGE(!PageLocked(m, pfn), '!PageLocked(page)', 'PageMovable', pfn);
  if (!__PageMovable(m, pfn)) return false;
  // mapping = page_mapping(page); if (mapping && mapping->a_ops && mapping->a_ops->isolate_page)
  const id = page_mapping(m, pfn);
  if (id > MAX_ADDRESS_SPACE) mappingFault(pfn);
  return id !== MAPPING_NULL && id !== FILE_MAPPING;
}

/**
 * PageMovable()'s dereference of page->mapping when the word only aliases it (a
 * value above MAX_ADDRESS_SPACE): true when following it would fault. A guard reads
 * this and the branch's action (mappingFault) raises the fault, so that a trace
 * replays to the very step that oopses.
 */
export const mappingIsGarbage = (m: Uint8Array, pfn: number): boolean =>
  __PageMovable(m, pfn) && page_mapping(m, pfn) > MAX_ADDRESS_SPACE;
export function mappingFault(pfn: number): never {
  throw new KernelBug('general protection fault: page->mapping->a_ops (page->mapping is not an address_space)', 'PageMovable', pfn);
}

/** __SetPageMovable(page, mapping): mm/compaction.c. `mapping` is an address space id. */
export function __SetPageMovable(m: Uint8Array, pfn: number, mapping: number): void {
  VM_BUG_ON_PAGE(!PageLocked(m, pfn), '!PageLocked(page)', '__SetPageMovable', pfn);
  // VM_BUG_ON_PAGE((unsigned long)mapping & PAGE_MAPPING_MOVABLE, page): ids are
  // shifted above the low bits, so a model mapping id can never carry the bit.
  setMappingWord(m, pfn, (mapping << 2) | PAGE_MAPPING_MOVABLE);
}

/**
 * __ClearPageMovable(page): mm/compaction.c. It clears the address_space but keeps
 * PAGE_MAPPING_MOVABLE on purpose: "Clear registered address_space val with keeping
 * PAGE_MAPPING_MOVABLE flag so that VM can catch up released page by driver after
 * isolation" (Minchan Kim, answering Vlastimil Babka's "This should be negated to
 * clear... use ~PAGE_MAPPING_MOVABLE ?" in the seed thread). __PageMovable() stays
 * true, PageMovable() becomes false, and migration knows the driver let go.
 */
export function __ClearPageMovable(m: Uint8Array, pfn: number): void {
  VM_BUG_ON_PAGE(!PageLocked(m, pfn), '!PageLocked(page)', '__ClearPageMovable', pfn);
  VM_BUG_ON_PAGE(!PageMovable(m, pfn), '!PageMovable(page)', '__ClearPageMovable', pfn);
  setMappingWord(m, pfn, mappingWord(m, pfn) & PAGE_MAPPING_MOVABLE);
}

/**
 * __ClearPageIsolated(), plus the ghost: once PG_isolated is clear no CPU holds the
 * page isolated any more, so the claims recorded at isolation are dropped too.
 */
export function clearIsolated(m: Uint8Array, pfn: number): void {
  clearFlag(m, pfn, PG_isolated);
  m[pfn * PAGE_STRIDE + F_ISOLATORS] = 0;
}

/** Ghost: CPU `cpu` has passed isolate_movable_page's checks for the page. */
export function claimIsolation(m: Uint8Array, pfn: number, cpu: number): void {
  m[pfn * PAGE_STRIDE + F_ISOLATORS] |= 1 << cpu;
}
export function dropIsolationClaim(m: Uint8Array, pfn: number, cpu: number): void {
  m[pfn * PAGE_STRIDE + F_ISOLATORS] &= ~(1 << cpu);
}
export const isolationClaims = (m: Uint8Array, pfn: number): number => m[pfn * PAGE_STRIDE + F_ISOLATORS];

/** The mapping word as a string, for traces. */
export function describeMapping(word: number): string {
  if (word === 0) return 'NULL';
  const id = word >> 2;
  const bits: string[] = [];
  if (word & 1) bits.push('ANON');
  if (word & 2) bits.push('MOVABLE');
  return `${id ? `as${id}` : '0'}${bits.length ? '|' + bits.join('|') : ''}`;
}
