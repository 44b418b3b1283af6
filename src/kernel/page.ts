/**
 * struct page at the granularity the migration protocols need, packed into a byte
 * vector so that the walker can hash and copy a whole world cheaply.
 *
 * Kernel version: v4.8 (the non-LRU movable page series), include/linux/mm_types.h,
 * include/linux/page-flags.h, include/linux/page_ref.h.
 *
 * Every function here takes the packed vector `m` and a page frame number; pages are
 * stored back to back from offset 0 with PAGE_STRIDE bytes each. Fields marked
 * "ghost" are not kernel state: they record who holds what so that properties can
 * say whose step broke a rule. They never steer the kernel's own control flow.
 */
import { KernelBug, VM_BUG_ON_PAGE } from './bug.ts';
import { clear_bit, loadWord, nonAtomicClear, nonAtomicSet, set_bit, storeWord, test_and_set_bit_lock, clear_bit_unlock, test_bit } from './bitops.ts';
import { LIST_POISON1, LIST_POISON2 } from './list.ts';

export const PAGE_STRIDE = 10;
/** page->flags: one word (WORD_BYTES bytes, src/kernel/bitops.ts), PG_* bits below. */
export const F_FLAGS = 0;
/**
 * page->lru: a struct list_head (src/kernel/list.ts), `next` at F_LRU and `prev` at
 * F_LRU + 1, each a node id. Page pfn's lru is node pageNode(pfn) of its world's
 * ListSpace. In v4.8 a compound tail's `compound_head` aliases lru.next (bit 0 set).
 */
export const F_LRU = 2;
/**
 * Deprecated alias for the allocator's systems (contig, reporting), which keep a
 * one-byte list id of their own in the first byte of page->lru until they move their
 * free lists onto list.ts.
 */
export const F_LIST = F_LRU;
/** page->mapping: (address_space id << 2) | PAGE_MAPPING_* low bits. */
export const F_MAPPING = 4;
/** page->_refcount, stored as a signed byte. */
export const F_REF = 5;
/** page->_mapcount when it encodes a page type (PageBuddy, PageBalloon in v4.8). */
export const F_TYPE = 6;
/** page->private. */
export const F_PRIVATE = 7;
/** Ghost: actor index + 1 of the holder of PG_locked, 0 when none. */
export const F_LOCKER = 8;
/** Ghost: bitmask of the CPUs that passed isolate_movable_page's checks for the page. */
export const F_ISOLATORS = 9;

/**
 * page->flags bits. Bit positions are the model's, not enum pageflags', but the set
 * is the kernel's: PG_isolated is an alias of PG_reclaim (page-flags.h, v4.8), which
 * is why a driver must not use PG_reclaim for itself. v4.8 has no PG_waiters (it came
 * with v4.10's "mm: Add PageWaiters indicating tasks are waiting for a page bit").
 */
export const PG_locked = 0x01;
export const PG_lru = 0x02;
export const PG_private = 0x04;
export const PG_reclaim = 0x08;
export const PG_isolated = PG_reclaim;
/** PG_slab and PG_head (compound pages, v4.8: PG_head on the head page, tails by compound_head). */
export const PG_slab = 0x10;
export const PG_head = 0x20;

/** PAGE_FLAGS_CHECK_AT_FREE (page-flags.h) restricted to the flags modelled here. */
export const PAGE_FLAGS_CHECK_AT_FREE = PG_lru | PG_locked | PG_private | PG_slab;
/** PAGE_FLAGS_CHECK_AT_PREP: every flag must be clear on a page leaving the allocator. */
export const PAGE_FLAGS_CHECK_AT_PREP = PG_locked | PG_lru | PG_private | PG_reclaim | PG_slab | PG_head;

/** Page types kept in _mapcount in v4.8. */
export const TYPE_NONE = 0;
export const TYPE_BUDDY = 1;
export const TYPE_BALLOON = 2;

/** PAGE_MAPPING_* low bits of page->mapping (page-flags.h after the seed's patch 02). */
export const PAGE_MAPPING_ANON = 0x1;
export const PAGE_MAPPING_MOVABLE = 0x2;
export const PAGE_MAPPING_KSM = PAGE_MAPPING_ANON | PAGE_MAPPING_MOVABLE;
export const PAGE_MAPPING_FLAGS = PAGE_MAPPING_ANON | PAGE_MAPPING_MOVABLE;

// ---------------------------------------------------------------------------
// page->lru node ids. In a world whose pages link through list.ts, page pfn's lru is
// node pfn + 1; list heads take ids from NODE_HEADS up.

export const pageNode = (pfn: number): number => pfn + 1;
export const nodePage = (node: number): number => node - 1;
/** The largest page node id (pfn + 1). */
export const MAX_PAGE_NODES = 0x7f;
/**
 * A compound tail's `compound_head` (v4.8: `(unsigned long)head + 1`, aliasing
 * lru.next, include/linux/page-flags.h compound_head()): the model stores the head's
 * node id with bit 7 set, a value no list pointer can hold (page nodes stop at 0x7f,
 * heads start at 0xc0), so "bit 0 set" is kept as "cannot be a list pointer".
 */
export const TAIL_TAG = 0x80;
/**
 * The zone's free list and the LRU, as list heads every migration world registers.
 * No actor of these systems walks them (the model's allocator hands out the pfn a
 * system names; nothing scans the LRU), so their order is not modelled: a page on
 * one points at the head with both pointers and the head is not linked back
 * (README, "What the world holds").
 */
export const NODE_BUDDY_FREE = 0xc0;
export const NODE_LRU = 0xc1;
/** The first id a system may give its own list heads. */
export const NODE_HEADS = 0xc2;

/** Kept for the allocator's systems' one-byte list ids (see F_LIST). */
export const LIST_NONE = 0;

/** Address space ids stored in page->mapping above the low bits; 0 is NULL. */
export const MAPPING_NULL = 0;
/**
 * The address_space objects a model's world holds have ids 1..MAX_ADDRESS_SPACE (a
 * driver's inode mapping, a file's mapping). A larger id is a word that only aliases
 * page->mapping (an alias of another page type's field): following it as an
 * address_space pointer faults.
 */
export const MAX_ADDRESS_SPACE = 3;
/** A file's address_space (the LRU page of the scan mix): it has no isolate_page. */
export const FILE_MAPPING = 3;

export const off = (pfn: number, field: number): number => pfn * PAGE_STRIDE + field;

/** The whole page->flags word (for the non-atomic read-modify-write steps). */
export const flagsAt = (pfn: number): number => pfn * PAGE_STRIDE + F_FLAGS;
export const pageFlags = (m: Uint8Array, pfn: number): number => loadWord(m, pfn * PAGE_STRIDE + F_FLAGS);
export const testFlag = (m: Uint8Array, pfn: number, flag: number): boolean => test_bit(m, pfn * PAGE_STRIDE + F_FLAGS, flag);

export const PageLocked = (m: Uint8Array, pfn: number) => testFlag(m, pfn, PG_locked);
export const PageLRU = (m: Uint8Array, pfn: number) => testFlag(m, pfn, PG_lru);
export const PagePrivate = (m: Uint8Array, pfn: number) => testFlag(m, pfn, PG_private);
export const PageSlab = (m: Uint8Array, pfn: number) => testFlag(m, pfn, PG_slab);
export const PageHead = (m: Uint8Array, pfn: number) => testFlag(m, pfn, PG_head);
/** PageIsolated(): __PAGEFLAG(Isolated, isolated, PF_ANY), page-flags.h (v4.8). */
export const PageIsolated = (m: Uint8Array, pfn: number) => testFlag(m, pfn, PG_isolated);
export const PageBuddy = (m: Uint8Array, pfn: number) => m[pfn * PAGE_STRIDE + F_TYPE] === TYPE_BUDDY;
export const PageBalloon = (m: Uint8Array, pfn: number) => m[pfn * PAGE_STRIDE + F_TYPE] === TYPE_BALLOON;

// ---------------------------------------------------------------------------
// Compound pages (v4.8, include/linux/page-flags.h, include/linux/mm.h): PG_head on
// the head; a tail's compound_head (lru.next) holds the head with bit 0 set; the first
// tail keeps compound_order and compound_mapcount, which aliases page->mapping.

/** PageTail(): READ_ONCE(page->compound_head) & 1. */
export const PageTail = (m: Uint8Array, pfn: number): boolean => {
  const v = m[pfn * PAGE_STRIDE + F_LRU];
  return v >= TAIL_TAG && v < NODE_BUDDY_FREE;
};
/** PageCompound(): PageHead(page) || PageTail(page). */
export const PageCompound = (m: Uint8Array, pfn: number): boolean => PageHead(m, pfn) || PageTail(m, pfn);
/** compound_head(page): the head for a tail, the page itself otherwise. */
export const compound_head = (m: Uint8Array, pfn: number): number =>
  (PageTail(m, pfn) ? nodePage(m[pfn * PAGE_STRIDE + F_LRU] - TAIL_TAG) : pfn);
/** set_compound_head(tail, head). */
export const setCompoundHead = (m: Uint8Array, tail: number, head: number): void => {
  m[tail * PAGE_STRIDE + F_LRU] = TAIL_TAG + pageNode(head);
};
/**
 * compound_order(page): `if (!PageHead(page)) return 0; return page[1].compound_order;`
 * The first tail's compound_order sits in a byte the model keeps in page->private of
 * the first tail (it shares lru.prev in the kernel; the model's lru.prev of a tail
 * holds nothing else).
 */
export const compound_order = (m: Uint8Array, pfn: number): number =>
  (PageHead(m, pfn) ? m[(pfn + 1) * PAGE_STRIDE + F_LRU + 1] : 0);

/**
 * __SetPageFoo / __ClearPageFoo in one step: the non-atomic load and store of the
 * word with nothing in between. Use it only where no other CPU can write the page's
 * flags meanwhile (say why at the call); elsewhere split it with loadWord/storeWord.
 */
export function setFlag(m: Uint8Array, pfn: number, flag: number): void {
  const at = pfn * PAGE_STRIDE + F_FLAGS;
  storeWord(m, at, nonAtomicSet(loadWord(m, at), flag));
}
export function clearFlag(m: Uint8Array, pfn: number, flag: number): void {
  const at = pfn * PAGE_STRIDE + F_FLAGS;
  storeWord(m, at, nonAtomicClear(loadWord(m, at), flag));
}
/** SetPageFoo / ClearPageFoo: atomic set_bit / clear_bit on page->flags. */
export const SetPageFlag = (m: Uint8Array, pfn: number, flag: number): void => set_bit(m, pfn * PAGE_STRIDE + F_FLAGS, flag);
export const ClearPageFlag = (m: Uint8Array, pfn: number, flag: number): void => clear_bit(m, pfn * PAGE_STRIDE + F_FLAGS, flag);
/** __SetPageIsolated / __ClearPageIsolated (page-flags.h, v4.8): non-atomic. */
export const __SetPageIsolated = (m: Uint8Array, pfn: number) => setFlag(m, pfn, PG_isolated);
export const __ClearPageIsolated = (m: Uint8Array, pfn: number) => clearFlag(m, pfn, PG_isolated);

// ---------------------------------------------------------------------------
// page->lru, read and written as the page's own two bytes (list.ts does the linking)

/** Both pointers of page->lru, for the membership-only heads (NODE_BUDDY_FREE, NODE_LRU). */
export function setLru(m: Uint8Array, pfn: number, next: number, prev: number): void {
  m[pfn * PAGE_STRIDE + F_LRU] = next;
  m[pfn * PAGE_STRIDE + F_LRU + 1] = prev;
}
/** What list_del() leaves in page->lru. */
export const poisonLru = (m: Uint8Array, pfn: number): void => setLru(m, pfn, LIST_POISON1, LIST_POISON2);
export const lruNext = (m: Uint8Array, pfn: number): number => m[pfn * PAGE_STRIDE + F_LRU];
export const lruPrev = (m: Uint8Array, pfn: number): number => m[pfn * PAGE_STRIDE + F_LRU + 1];

// ---------------------------------------------------------------------------
// page->mapping: include/linux/page-flags.h, mm/util.c (v4.8 with the seed's patch 02)

export const mappingWord = (m: Uint8Array, pfn: number): number => m[pfn * PAGE_STRIDE + F_MAPPING];
export const setMappingWord = (m: Uint8Array, pfn: number, v: number): void => {
  m[pfn * PAGE_STRIDE + F_MAPPING] = v;
};
/** The address_space id a mapping word points to, low bits masked off. */
export const mappingId = (word: number): number => word >> 2;

/** PageMappingFlags(): page-flags.h. */
export const PageMappingFlags = (m: Uint8Array, pfn: number): boolean =>
  (mappingWord(m, pfn) & PAGE_MAPPING_FLAGS) !== 0;

/** PageAnon(): page-flags.h. */
export const PageAnon = (m: Uint8Array, pfn: number): boolean =>
  (mappingWord(m, pfn) & PAGE_MAPPING_ANON) !== 0;

/** __PageMovable(): page-flags.h. A lockless hint: true for a page the driver released too. */
export const __PageMovable = (m: Uint8Array, pfn: number): boolean =>
  (mappingWord(m, pfn) & PAGE_MAPPING_FLAGS) === PAGE_MAPPING_MOVABLE;

/**
 * page_mapping(): mm/util.c (v4.8). Returns the address_space id, or MAPPING_NULL
 * for anonymous pages and pages without a mapping.
 */
export function page_mapping(m: Uint8Array, pfn: number): number {
  const word = mappingWord(m, compound_head(m, pfn)); // page = compound_head(page)
  if (word & PAGE_MAPPING_ANON) return MAPPING_NULL;
  return mappingId(word);
}

// ---------------------------------------------------------------------------
// _refcount: include/linux/page_ref.h, include/linux/mm.h (v4.8)

/** page_ref_count(). */
export const page_count = (m: Uint8Array, pfn: number): number => (m[pfn * PAGE_STRIDE + F_REF] << 24) >> 24;
const setRef = (m: Uint8Array, pfn: number, v: number): void => {
  m[pfn * PAGE_STRIDE + F_REF] = v & 0xff;
};

/** get_page_unless_zero(): an atomic increment that fails on a zero count. */
export function get_page_unless_zero(m: Uint8Array, pfn: number): boolean {
  const c = page_count(m, pfn);
  if (c === 0) return false;
  setRef(m, pfn, c + 1);
  return true;
}

/** get_page(): include/linux/mm.h. */
export function get_page(m: Uint8Array, pfn: number): void {
  pfn = compound_head(m, pfn); // v4.8 get_page(): page = compound_head(page)
  const c = page_count(m, pfn);
  VM_BUG_ON_PAGE(c <= 0, 'page_ref_count(page) <= 0', 'get_page', pfn);
  setRef(m, pfn, c + 1);
}

/**
 * put_page(): include/linux/mm.h, put_page_testzero() and, at zero, __put_page() ->
 * __put_single_page() -> __page_cache_release() (mm/swap.c) and the free path.
 * Returns true when this call freed the page.
 */
export function put_page(m: Uint8Array, pfn: number): boolean {
  pfn = compound_head(m, pfn); // v4.8 put_page(): page = compound_head(page)
  const c = page_count(m, pfn);
  // put_page_testzero(): VM_BUG_ON_PAGE(page_ref_count(page) == 0, page)
  VM_BUG_ON_PAGE(c === 0, 'page_ref_count(page) == 0', 'put_page_testzero', pfn);
  setRef(m, pfn, c - 1);
  if (c - 1 !== 0) return false;
  // __page_cache_release(): an LRU page comes off the LRU before it is freed.
  // The LRU is membership-only in these worlds (NODE_LRU): del_page_from_lru_list()
  // leaves page->lru poisoned; __ClearPageLRU is non-atomic, on a page nobody else holds.
  if (PageLRU(m, pfn)) {
    poisonLru(m, pfn);
    clearFlag(m, pfn, PG_lru);
  }
  free_page(m, pfn);
  return true;
}

/**
 * free_pages_prepare() + free_pages_check() (mm/page_alloc.c, v4.8) for an order-0
 * page, then the page goes to the buddy free list. A page that fails the checks is a
 * "BUG: Bad page state", which the model reports as a kernel bug.
 */
export function free_page(m: Uint8Array, pfn: number): void {
  const o = pfn * PAGE_STRIDE;
  // free_pages_prepare(): anonymous and movable mappings are cleared here, so a
  // driver's released page (PAGE_MAPPING_MOVABLE kept) leaves with a NULL mapping.
  if (PageMappingFlags(m, pfn)) m[o + F_MAPPING] = MAPPING_NULL;
  // free_pages_check_bad(): the last matching reason wins, as in the kernel.
  let bad: string | null = null;
  if (m[o + F_TYPE] !== TYPE_NONE) bad = 'nonzero mapcount';
  if (m[o + F_MAPPING] !== MAPPING_NULL) bad = 'non-NULL mapping';
  if (page_count(m, pfn) !== 0) bad = 'nonzero _refcount';
  if (pageFlags(m, pfn) & PAGE_FLAGS_CHECK_AT_FREE) bad = 'PAGE_FLAGS_CHECK_AT_FREE flag(s) set';
  if (bad) throw new KernelBug(`bad_page(): ${bad}`, 'free_pages_check', pfn);
  // page->flags &= ~PAGE_FLAGS_CHECK_AT_PREP: PG_isolated (PG_reclaim) goes silently.
  storeWord(m, o + F_FLAGS, 0);
  m[o + F_PRIVATE] = 0; // set_page_order(page, 0) in __free_one_page
  m[o + F_TYPE] = TYPE_BUDDY;
  // list_add(&page->lru, &area->free_list[migratetype]): membership only (NODE_BUDDY_FREE).
  setLru(m, pfn, NODE_BUDDY_FREE, NODE_BUDDY_FREE);
}

/**
 * Take one given free page out of the buddy allocator: the order-0 path of
 * rmqueue() + prep_new_page() / check_new_page() (mm/page_alloc.c, v4.8). The model's
 * allocator hands out the page the system names, so that pfns stay fixed.
 */
export function alloc_page(m: Uint8Array, pfn: number): void {
  const o = pfn * PAGE_STRIDE;
  if (m[o + F_TYPE] !== TYPE_BUDDY) throw new KernelBug('BUG_ON(!PageBuddy(page))', 'rmqueue', pfn);
  m[o + F_TYPE] = TYPE_NONE;
  poisonLru(m, pfn); // list_del(&page->lru) in __rmqueue_smallest()
  m[o + F_PRIVATE] = 0; // rmv_page_order()
  if (pageFlags(m, pfn) & PAGE_FLAGS_CHECK_AT_PREP) {
    throw new KernelBug('bad_page(): PAGE_FLAGS_CHECK_AT_PREP flag set', 'check_new_page', pfn);
  }
  setRef(m, pfn, 1); // set_page_refcounted()
}

// ---------------------------------------------------------------------------
// The page lock: include/linux/pagemap.h, mm/filemap.c (v4.8). `who` is the
// stepping actor's index; the ghost F_LOCKER remembers it for the properties.

/** trylock_page(): test_and_set_bit_lock(PG_locked). */
export function trylock_page(m: Uint8Array, pfn: number, who: number): boolean {
  const o = pfn * PAGE_STRIDE;
  if (test_and_set_bit_lock(m, o + F_FLAGS, PG_locked)) return false;
  m[o + F_LOCKER] = who + 1;
  return true;
}

/** lock_page() can proceed: the walker blocks the actor until this holds. */
export const canLockPage = (m: Uint8Array, pfn: number): boolean => !PageLocked(m, pfn);

/** unlock_page(): VM_BUG_ON_PAGE(!PageLocked(page), page); clear_bit_unlock(PG_locked). */
export function unlock_page(m: Uint8Array, pfn: number): void {
  const o = pfn * PAGE_STRIDE;
  VM_BUG_ON_PAGE(!test_bit(m, o + F_FLAGS, PG_locked), '!PageLocked(page)', 'unlock_page', pfn);
  clear_bit_unlock(m, o + F_FLAGS, PG_locked);
  m[o + F_LOCKER] = 0;
}

/** Ghost: the actor index holding the page lock, or -1. */
export const pageLocker = (m: Uint8Array, pfn: number): number => m[pfn * PAGE_STRIDE + F_LOCKER] - 1;

// ---------------------------------------------------------------------------
// Spinlocks: a byte holding the owner's actor index + 1 (0 when free).

export const spinIsFree = (m: Uint8Array, at: number): boolean => m[at] === 0;
/** spin_lock(): the walker only takes this step when spinIsFree(). */
export function spin_lock(m: Uint8Array, at: number, who: number): void {
  if (m[at] !== 0) throw new KernelBug('BUG: spinlock recursion or lock held', 'spin_lock', -1);
  m[at] = who + 1;
}
export function spin_unlock(m: Uint8Array, at: number): void {
  if (m[at] === 0) throw new KernelBug('BUG: spinlock already unlocked', 'spin_unlock', -1);
  m[at] = 0;
}

/**
 * might_sleep() with CONFIG_DEBUG_ATOMIC_SLEEP (include/linux/kernel.h, v4.8): a
 * function that can sleep, called while the caller holds a spinlock (one of the
 * spinlock bytes `locks`), is "BUG: sleeping function called from invalid context".
 */
export function might_sleep(m: Uint8Array, who: number, locks: readonly number[], where: string): void {
  for (const at of locks) {
    if (m[at] === who + 1) throw new KernelBug('BUG: sleeping function called from invalid context', where, -1);
  }
}

/** Names of the modelled flags, for traces. */
export function describeFlags(flags: number): string[] {
  const out: string[] = [];
  if (flags & PG_locked) out.push('PG_locked');
  if (flags & PG_lru) out.push('PG_lru');
  if (flags & PG_private) out.push('PG_private');
  if (flags & PG_isolated) out.push('PG_isolated');
  if (flags & PG_slab) out.push('PG_slab');
  if (flags & PG_head) out.push('PG_head');
  return out;
}
