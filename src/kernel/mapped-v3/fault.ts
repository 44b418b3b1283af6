/**
 * A task touching (writing) the range, and the fault path it takes when a PTE is not
 * present (mm/memory.c handle_pte_fault(), do_swap_page(); mm/migrate.c
 * migration_entry_wait(); mm/swap_state.c lookup_swap_cache(),
 * read_swap_cache_async(); v3.3), with seed 001's migrate-on-fault: in do_swap_page(),
 * with the page locked and still in the swap cache, check_migrate_misplaced_page():
 * an unmapped page whose node is not the one its VMA's policy (MPOL_F_MOF) names is
 * migrated there (migrate_misplaced_page()), and the new page is mapped instead.
 *
 * The seed (patch 03/26) unmaps; the migrate-on-fault code is in later patches of the
 * same RFC series ("mm, mpol: Check for misplaced page", "mm: Migrate misplaced page",
 * "mm: Handle misplaced anon pages", after Lee Schermerhorn's migrate-on-fault
 * series). The model follows their shape on the v3.3 migration primitives:
 * alloc_pages_exact_node(policy node), isolate_lru_page(),
 * migrate_page_move_mapping() expecting the fault's reference too, migrate_page_copy(),
 * putback_lru_page() of the old page, lru_cache_add() of the new one.
 *
 * Every touch is a write. When reuse_swap_page() refuses the page (it is under
 * writeback), do_swap_page() maps it read-only and do_wp_page() follows: it reuses
 * the page once it may, or copies it (COW) to a new page. do_wp_page() is entered
 * here by the write's next fault rather than straight from do_swap_page() with the
 * ptl still held: it retakes the ptl and rechecks pte_same() either way.
 * lock_page_or_retry() is modelled as lock_page(): VM_FAULT_RETRY drops mmap_sem,
 * waits for the lock and faults again, which reaches the same states. A page under
 * writeback is not migrated on fault: migrate_pages()' __unmap_and_move() returns
 * -EBUSY for it in MIGRATE_ASYNC mode, as mainline's migrate_misplaced_page() (v3.8)
 * goes through it.
 */
import { BUG_ON, KernelBug } from '../bug.ts';
import { type ActionFn, type GuardFn, ProgramBuilder, br } from '../program.ts';
import { alloc_page_node, alloc_page_policy } from './alloc.ts';
import {
  MMAP_WRITER, NO_PAGE, POLICY_MOF, PTE_MIGRATION, PTE_PRESENT, PTE_RDONLY, PTE_SWAP, PTE_TYPE, REASON, pteArg,
  type MappedLayout,
} from './layout.ts';
import { isolate_lru_page, lru_add_drain, lru_cache_add, put_page, putback_lru_page } from './lru.ts';
import { migrate_page_copy, migrate_page_move_mapping } from './migrate.ts';
import { noteReason } from './mempolicy.ts';
import {
  F_COUNT, F_DATA, F_INDEX, F_MAPCOUNT, F_MAPPING, F_PRIVATE, ANON_MAPPING, PG_locked, PageWriteback, get_page, PG_swapbacked, PG_uptodate, PageLocked, PageSwapCache, flagsOf, get_page_unless_zero,
  page_mapcount, pageAt, setFlag, setFlags, unlock_page,
} from './page.ts';
import { page_add_anon_rmap, page_remove_rmap } from './rmap.ts';
import { add_to_swap_cache, entryOf, reuse_swap_page, swap_free, swapcache_prepare } from './swap.ts';

/** Step labels variants replace (with the virtual page appended as `@v`). */
export const FAULT = {
  recheck: 'do_swap_page/recheck',
  map: 'do_swap_page/map',
  moveMapping: 'migrate_misplaced_page/move_mapping',
} as const;

export interface ToucherSlots {
  readonly orig: number;
  readonly page: number;
  readonly newpage: number;
}

/** The first step of a thread: a read of page 0 when threads read before they write. */
export const toucherStart = (reads: boolean): string => (reads ? 'read@0' : 'access@0');

export function toucherProgram(lay: MappedLayout, cpu: number, nid: number, reads = false): { b: ProgramBuilder; slots: ToucherSlots } {
  const b = new ProgramBuilder('toucher');
  const slots: ToucherSlots = { orig: b.local('orig_pte'), page: b.local('page', NO_PAGE), newpage: b.local('newpage', NO_PAGE) };
  const pg = (m: Uint8Array, L: number) => m[L + slots.page];
  const slotOfOrig = (m: Uint8Array, L: number) => pteArg(m[L + slots.orig]);

  // --- the access: the hardware walks the page table and writes the page ---------
  const present: GuardFn = (m, _L, P) => (m[lay.pte(P.v)] & (PTE_TYPE | PTE_RDONLY)) === PTE_PRESENT;
  const presentAny: GuardFn = (m, _L, P) => (m[lay.pte(P.v)] & PTE_TYPE) === PTE_PRESENT;
  const write: ActionFn = (m, _L, P) => {
    const p = pteArg(m[lay.pte(P.v)]);
    const next = m[lay.version(P.v)] + 1;
    m[lay.version(P.v)] = next;
    m[pageAt(p, F_DATA)] = next;
  };
  // --- handle_mm_fault() ------------------------------------------------------------
  const noWriter: GuardFn = (m) => (m[lay.mmapSem] & MMAP_WRITER) === 0;
  const downRead: ActionFn = (m) => { m[lay.mmapSem]++; };
  const upRead: ActionFn = (m) => { m[lay.mmapSem]--; };
  const readPte: ActionFn = (m, L, P) => { m[L + slots.orig] = m[lay.pte(P.v)]; };
  const noAnon: ActionFn = (_m, _L, P) => { throw new KernelBug('do_anonymous_page() on a range the initial thread faulted in', 'handle_pte_fault', -1 - P.v); };
  // --- migration_entry_wait() ---------------------------------------------------------
  const pteStill: GuardFn = (m, L, P) => m[lay.pte(P.v)] === m[L + slots.orig];
  const mewGet: ActionFn = (m, L) => {
    const p = pteArg(m[L + slots.orig]);
    // migration_entry_to_page(): "Any use of migration entries may only occur while the corresponding page is locked"
    BUG_ON(!PageLocked(m, p), '!PageLocked(p)', 'migration_entry_to_page', p);
    m[L + slots.page] = get_page_unless_zero(m, p) ? p : NO_PAGE;
  };
  const havePage: GuardFn = (m, L) => pg(m, L) !== NO_PAGE;
  const pageUnlocked: GuardFn = (m, L) => !PageLocked(m, pg(m, L));
  const putPage: ActionFn = (m, L) => { put_page(m, lay, pg(m, L), 'put_page'); m[L + slots.page] = NO_PAGE; };
  // --- lookup_swap_cache(): find_get_page(&swapper_space, entry.val) -------------------
  const lookup: ActionFn = (m, L) => { m[L + slots.page] = m[lay.swapCache(slotOfOrig(m, L))]; };
  const getSpec: GuardFn = (m, L) => m[pageAt(pg(m, L), F_COUNT)] !== 0;
  const getAndRecheck: ActionFn = (m, L) => {
    const p = pg(m, L);
    get_page_unless_zero(m, p);
    if (m[lay.swapCache(slotOfOrig(m, L))] !== p) { put_page(m, lay, p, 'find_get_page'); m[L + slots.page] = NO_PAGE; }
  };
  const forget: ActionFn = (m, L) => { m[L + slots.page] = NO_PAGE; };
  // --- read_swap_cache_async() ----------------------------------------------------------
  const allocSwapin: ActionFn = (m, L) => {
    const pol = m[lay.policy];
    const p = pol & POLICY_MOF ? alloc_page_policy(m, lay, pol & 0xf, true) : alloc_page_policy(m, lay, nid, false);
    if (p < 0) throw new KernelBug('VM_FAULT_OOM: no page for swapin', 'read_swap_cache_async', -1);
    m[L + slots.newpage] = p;
  };
  const prepRet = (m: Uint8Array, L: number): number => {
    const v = m[lay.swapMap(slotOfOrig(m, L))];
    return v === 0 ? -2 : v & 0x40 ? -17 : 0;
  };
  const prepExists: GuardFn = (m, L) => prepRet(m, L) === -17;
  const prepGone: GuardFn = (m, L) => prepRet(m, L) === -2;
  const freeNew: ActionFn = (m, L) => { put_page(m, lay, m[L + slots.newpage], 'page_cache_release'); m[L + slots.newpage] = NO_PAGE; };
  const readIn: ActionFn = (m, L, P) => {
    const s = slotOfOrig(m, L);
    const p = m[L + slots.newpage];
    if (swapcache_prepare(m, lay, s) !== 0) throw new KernelBug('swapcache_prepare() changed its answer', 'read_swap_cache_async', p);
    // __set_page_locked(new_page); SetPageSwapBacked(new_page); __add_to_swap_cache()
    setFlag(m, p, PG_locked);
    setFlag(m, p, PG_swapbacked);
    if (add_to_swap_cache(m, lay, p, s) !== 0) throw new KernelBug('__add_to_swap_cache() returned -EEXIST after swapcache_prepare()', 'read_swap_cache_async', p);
    // swap_readpage(): the I/O completes: SetPageUptodate; unlock_page
    m[pageAt(p, F_DATA)] = m[lay.swapData(s)];
    setFlag(m, p, PG_uptodate);
    unlock_page(m, p, 'end_swap_bio_read');
    lru_cache_add(m, lay, P.cpu, p);
    m[L + slots.page] = p;
    m[L + slots.newpage] = NO_PAGE;
  };
  // --- do_swap_page() after the lookup --------------------------------------------------
  const lockPage: ActionFn = (m, L) => setFlag(m, pg(m, L), PG_locked);
  const notOurs: GuardFn = (m, L) => !PageSwapCache(m, pg(m, L)) || m[pageAt(pg(m, L), F_PRIVATE)] !== entryOf(slotOfOrig(m, L));
  const unlockPage: ActionFn = (m, L) => unlock_page(m, pg(m, L), 'do_swap_page');
  const misplaced: GuardFn = (m, L) => {
    const pol = m[lay.policy];
    const p = pg(m, L);
    return page_mapcount(m, p) === 0 && (pol & POLICY_MOF) !== 0 && lay.nid(p) !== (pol & 0xf);
  };
  const mofAlloc: ActionFn = (m, L) => {
    const p = alloc_page_node(m, lay, m[lay.policy] & 0xf);
    if (p < 0) noteReason(m, lay, pg(m, L), REASON.nomem);
    m[L + slots.newpage] = p < 0 ? NO_PAGE : p;
  };
  const haveNew: GuardFn = (m, L) => m[L + slots.newpage] !== NO_PAGE;
  const mofIsolate: ActionFn = (m, L) => {
    if (PageWriteback(m, pg(m, L))) {
      noteReason(m, lay, pg(m, L), REASON.busy);
      put_page(m, lay, m[L + slots.newpage], 'migrate_misplaced_page');
      m[L + slots.newpage] = NO_PAGE;
    } else if (isolate_lru_page(m, lay, pg(m, L)) !== 0) {
      noteReason(m, lay, pg(m, L), REASON.notLru);
      put_page(m, lay, m[L + slots.newpage], 'migrate_misplaced_page');
      m[L + slots.newpage] = NO_PAGE;
    }
  };
  const moveMapping: ActionFn = (m, L) => {
    const p = pg(m, L);
    const n = m[L + slots.newpage];
    setFlags(m, n, flagsOf(m, n) | PG_locked); // __set_page_locked(newpage): newpage is ours alone
    if (migrate_page_move_mapping(m, lay, n, p, 1) !== 0) {
      noteReason(m, lay, p, REASON.busy);
      unlock_page(m, n, 'migrate_misplaced_page');
      putback_lru_page(m, lay, cpu, p);
      put_page(m, lay, n, 'migrate_misplaced_page');
      m[L + slots.newpage] = NO_PAGE;
      return;
    }
    migrate_page_copy(m, n, p);
  };
  const mofUnlockOld: ActionFn = (m, L) => unlock_page(m, pg(m, L), 'migrate_misplaced_page');
  const mofRelease: ActionFn = (m, L) => {
    const p = pg(m, L);
    const n = m[L + slots.newpage];
    putback_lru_page(m, lay, cpu, p); // the isolation reference
    put_page(m, lay, p, 'migrate_misplaced_page'); // the fault's reference
    lru_cache_add(m, lay, cpu, n);
    m[L + slots.page] = n;
    m[L + slots.newpage] = NO_PAGE;
  };
  // FAULT_FLAG_WRITE: the fault is for a write (1) or a read (0).
  const writeFault = b.local('write');
  const setWrite: ActionFn = (m, L) => { m[L + writeFault] = 1; };
  const setRead: ActionFn = (m, L) => { m[L + writeFault] = 0; };
  const isWrite: GuardFn = (m, L) => m[L + writeFault] === 1;
  const isRead: GuardFn = (m, L) => m[L + writeFault] === 0;
  const mapIt: ActionFn = (m, L, P) => {
    const p = pg(m, L);
    const s = slotOfOrig(m, L);
    // if ((flags & FAULT_FLAG_WRITE) && reuse_swap_page(page)) pte = maybe_mkwrite(pte_mkdirty(pte))
    const reuse = m[L + writeFault] === 1 && reuse_swap_page(m, lay, p);
    m[lay.pte(P.v)] = reuse ? PTE_PRESENT | p : PTE_PRESENT | PTE_RDONLY | p;
    page_add_anon_rmap(m, p);
    swap_free(m, lay, s);
    unlock_page(m, p, 'do_swap_page');
    m[L + slots.page] = NO_PAGE; // the fault's reference is now the PTE's
  };
  const drain: ActionFn = (m) => lru_add_drain(m, lay, cpu);
  const pteIs = (t: number): GuardFn => (m, _L, Pm) => (m[lay.pte(Pm.v)] & PTE_TYPE) === t;
  const ptePresentNow = pteIs(PTE_PRESENT);
  const pteReadOnlyNow: GuardFn = (m, _L, Pm) => (m[lay.pte(Pm.v)] & (PTE_TYPE | PTE_RDONLY)) === (PTE_PRESENT | PTE_RDONLY);
  // --- do_wp_page() for an anon page (mm/memory.c, v3.3) ------------------------------
  const wpres = b.local('reused');
  const origPage: ActionFn = (m, L) => { m[L + slots.page] = pteArg(m[L + slots.orig]); };
  const oldUnlocked: GuardFn = (m, L) => !PageLocked(m, pteArg(m[L + slots.orig]));
  /** With the page locked and the ptl held: reuse_swap_page(old_page) ? reuse : unlock and copy. */
  const wpReuse: ActionFn = (m, L, Pm) => {
    const p = pg(m, L);
    if (reuse_swap_page(m, lay, p)) {
      m[lay.pte(Pm.v)] = PTE_PRESENT | p; // page_move_anon_rmap(); reuse: pte_mkyoung(pte_mkdirty(maybe_mkwrite()))
      m[L + wpres] = 1;
      m[L + slots.page] = NO_PAGE;
    } else {
      m[L + wpres] = 0;
    }
    unlock_page(m, p, 'do_wp_page');
  };
  const trylockReuse: ActionFn = (m, L, Pm) => {
    origPage(m, L, Pm, 0);
    setFlag(m, pg(m, L), PG_locked);
    wpReuse(m, L, Pm, 0);
  };
  const getOld: ActionFn = (m, L) => { origPage(m, L, {}, 0); get_page(m, pg(m, L), 'do_wp_page'); };
  const relockReuse: ActionFn = (m, L, Pm) => { put_page(m, lay, pg(m, L), 'do_wp_page'); wpReuse(m, L, Pm, 0); };
  const reused: GuardFn = (m, L) => m[L + wpres] === 1;
  const pteChanged: GuardFn = (m, L, Pm) => !pteStill(m, L, Pm, 0);
  const cowAlloc: ActionFn = (m, L) => {
    const old = pg(m, L);
    get_page(m, old, 'do_wp_page'); // page_cache_get(old_page); pte_unmap_unlock()
    const pol = m[lay.policy];
    const n = pol & POLICY_MOF ? alloc_page_policy(m, lay, pol & 0xf, true) : alloc_page_policy(m, lay, nid, false);
    if (n < 0) throw new KernelBug('VM_FAULT_OOM: no page to copy on write', 'do_wp_page', old);
    m[pageAt(n, F_DATA)] = m[pageAt(old, F_DATA)]; // cow_user_page(): nobody can write the old page, mapped read-only
    setFlag(m, n, PG_uptodate);
    m[L + slots.newpage] = n;
  };
  const cowMap: ActionFn = (m, L, Pm) => {
    const old = pg(m, L);
    const n = m[L + slots.newpage];
    // page_add_new_anon_rmap(new_page): SetPageSwapBacked; _mapcount = 0; anon rmap; lru_cache_add_lru()
    setFlag(m, n, PG_swapbacked);
    m[pageAt(n, F_MAPCOUNT)] = 0;
    m[pageAt(n, F_MAPPING)] = ANON_MAPPING;
    m[pageAt(n, F_INDEX)] = Pm.v;
    lru_cache_add(m, lay, cpu, n);
    m[lay.pte(Pm.v)] = PTE_PRESENT | n; // set_pte_at_notify(mk_pte(new_page), writable, dirty)
    page_remove_rmap(m, old);
    put_page(m, lay, old, 'do_wp_page'); // new_page = old_page; page_cache_release(new_page): the PTE's reference
    m[L + slots.newpage] = NO_PAGE;
  };
  const cowLost: ActionFn = (m, L) => { put_page(m, lay, m[L + slots.newpage], 'do_wp_page'); m[L + slots.newpage] = NO_PAGE; };
  const pteMigrationNow = pteIs(PTE_MIGRATION);
  const pteSwapNow = pteIs(PTE_SWAP);
  const pageNull: GuardFn = (m, L) => pg(m, L) === NO_PAGE;
  const pageFreed: GuardFn = (m, L) => !getSpec(m, L, {}, 0);
  const noNew: GuardFn = (m, L) => !haveNew(m, L, {}, 0);

  for (let v = 0; v < lay.vpages; v++) {
    const P = { v };
    const at = (s: string) => `${s}@${v}`;
    const next = v + 1 < lay.vpages ? toucherStart(reads).replace('@0', `@${v + 1}`) : 'drain';
    if (reads) {
      b.steps(at('read'), 'access', `the task reads virtual page ${v}: the MMU walks the page table`, [
        br(at('access'), [], b.g('pte_present(pte) (read)', presentAny, P)),
        br(at('down_read'), [b.a('read fault', setRead)]),
      ]);
    }
    b.steps(at('access'), 'access', `the task writes virtual page ${v}: the MMU walks the page table`, [
      br(next, [b.a('write through the PTE', write, P)], b.g('pte_present(pte)', present, P)),
      br(at('down_read'), [b.a('write fault', setWrite)]),
    ]);
    b.steps(at('down_read'), 'do_page_fault', 'down_read(&mm->mmap_sem)', [br(at('pte'), [b.a('down_read', downRead)], b.g('no writer', noWriter))]);
    b.steps(at('pte'), 'handle_pte_fault', 'entry = *pte (unlocked read): present, swap entry or migration entry', [
      br(at('wp'), [b.a('entry = *pte', readPte, P)], b.and(b.g('pte_present(*pte) && !pte_write(*pte)', pteReadOnlyNow, P), b.g('FAULT_FLAG_WRITE', isWrite))),
      br(at('up_read'), [b.a('entry = *pte', readPte, P)], b.g('pte_present(*pte)', ptePresentNow, P)),
      br(at('mew'), [b.a('entry = *pte', readPte, P)], b.g('is_migration_entry(*pte)', pteMigrationNow, P)),
      br(at('lookup'), [b.a('entry = *pte', readPte, P)], b.g('swap entry', pteSwapNow, P)),
      br('access@0', [b.a('do_anonymous_page', noAnon, P)]),
    ]);
    b.steps(at('mew'), 'migration_entry_wait', 'spin_lock(ptl); if (is_migration_entry(pte)) { page = migration_entry_to_page(entry); get_page_unless_zero(page) }; pte_unmap_unlock', [
      br(at('mew/wait'), [b.a('migration_entry_to_page; get_page_unless_zero', mewGet)], b.g('pte unchanged', pteStill, P)),
      br(at('up_read')),
    ]);
    b.steps(at('mew/wait'), 'migration_entry_wait', 'wait_on_page_locked(page); put_page(page)', [
      br(at('up_read'), [b.a('put_page', putPage)], b.and(b.g('got page', havePage), b.g('!PageLocked(page)', pageUnlocked))),
      br(at('up_read'), [], b.g('page == NULL', pageNull)),
    ]);
    b.steps(at('lookup'), 'lookup_swap_cache', 'page = radix_tree_lookup(&swapper_space, entry) (RCU, unlocked)', [br(at('get'), [b.a('radix_tree_lookup', lookup)])]);
    b.steps(at('get'), 'lookup_swap_cache', 'page_cache_get_speculative(page); if (page != *pslot) { page_cache_release(page); goto repeat }', [
      br(at('alloc'), [], b.g('page == NULL', pageNull)),
      br(at('lookup'), [b.a('forget page', forget)], b.g('page_count(page) == 0', pageFreed)),
      br(at('lock'), [b.a('get_page_unless_zero; recheck slot', getAndRecheck)]),
    ]);
    // A recheck that failed left page NULL: look again.
    b.steps(at('alloc'), 'read_swap_cache_async', 'new_page = alloc_page_vma(GFP_HIGHUSER_MOVABLE, vma, addr)', [br(at('prepare'), [b.a('alloc_page_vma', allocSwapin)])]);
    b.steps(at('prepare'), 'read_swap_cache_async', 'err = swapcache_prepare(entry); if (err == -EEXIST) retry; if (err) break; __add_to_swap_cache(new_page); swap_readpage(new_page); lru_cache_add_anon(new_page)', [
      br(at('lookup'), [b.a('page_cache_release(new_page)', freeNew)], b.g('swapcache_prepare() == -EEXIST', prepExists)),
      br(at('up_read'), [b.a('page_cache_release(new_page)', freeNew)], b.g('swapcache_prepare() == -ENOENT', prepGone)),
      br(at('lock'), [b.a('__add_to_swap_cache; swap_readpage; lru_cache_add_anon', readIn, { cpu })]),
    ]);
    b.steps(at('lock'), 'do_swap_page', 'lock_page(page)  /* lock_page_or_retry */', [
      br(at('lookup'), [], b.g('page == NULL', pageNull)),
      br(at(FAULT.recheck), [b.a('lock_page', lockPage)], b.g('!PageLocked(page)', pageUnlocked)),
    ]);
    b.steps(at(FAULT.recheck), 'do_swap_page', 'if (!PageSwapCache(page) || page_private(page) != entry.val) goto out_page; page = check_migrate_misplaced_page(page): if (!page_mapcount(page) && mpol_misplaced(page) != -1) migrate_misplaced_page()', [
      br(at('out_page'), [], b.g('!PageSwapCache(page) || page_private(page) != entry.val', notOurs)),
      br(at('mof/alloc'), [], b.g('!page_mapcount(page) && mpol_misplaced(page) >= 0', misplaced)),
      br(at(FAULT.map)),
    ]);
    b.steps(at('mof/alloc'), 'migrate_misplaced_page', 'newpage = alloc_pages_exact_node(node, GFP_HIGHUSER_MOVABLE | GFP_THISNODE, 0); if (!newpage) return page', [
      br(at('mof/isolate'), [b.a('alloc_pages_exact_node', mofAlloc)]),
    ]);
    b.steps(at('mof/isolate'), 'migrate_misplaced_page', 'if (PageWriteback(page)) return page  /* -EBUSY */; if (isolate_lru_page(page)) { put_page(newpage); return page }', [
      br(at(FAULT.map), [], b.g('newpage == NULL', noNew)),
      br(at(FAULT.moveMapping), [b.a('isolate_lru_page', mofIsolate)]),
    ]);
    b.steps(at(FAULT.moveMapping), 'migrate_misplaced_page', '__set_page_locked(newpage); migrate_page_move_mapping(swapper_space, newpage, page) under tree_lock; migrate_page_copy(newpage, page)', [
      br(at(FAULT.map), [], b.g('newpage == NULL', noNew)),
      br(at('mof/unlock'), [b.a('migrate_page_move_mapping; migrate_page_copy', moveMapping)]),
    ]);
    b.steps(at('mof/unlock'), 'migrate_misplaced_page', 'unlock_page(page)', [
      br(at(FAULT.map), [], b.g('newpage == NULL', noNew)),
      br(at('mof/release'), [b.a('unlock_page(oldpage)', mofUnlockOld)]),
    ]);
    b.steps(at('mof/release'), 'migrate_misplaced_page', 'putback_lru_page(page); put_page(page); lru_cache_add_anon(newpage); page = newpage', [
      br(at(FAULT.map), [b.a('putback_lru_page; put_page; lru_cache_add_anon(newpage)', mofRelease)]),
    ]);
    b.steps(at(FAULT.map), 'do_swap_page', 'pte_offset_map_lock(); if (!pte_same(*pte, orig_pte)) goto out_nomap; reuse_swap_page(); set_pte_at(); page_add_anon_rmap(); swap_free(entry); unlock_page(page); pte_unmap_unlock()', [
      br(at('up_read'), [b.a('map the page', mapIt, P)], b.g('pte_same(*pte, orig_pte)', pteStill, P)),
      br(at('out_page')),
    ]);
    b.steps(at('out_page'), 'do_swap_page', 'out_page: unlock_page(page)', [br(at('out_put'), [b.a('unlock_page(page)', unlockPage)])]);
    b.steps(at('out_put'), 'do_swap_page', 'page_cache_release(page)', [br(at('up_read'), [b.a('page_cache_release(page)', putPage)])]);
    b.steps(at('wp'), 'do_wp_page', 'pte_offset_map_lock(); if (!pte_same()) goto unlock; if (!trylock_page(old_page)) { page_cache_get(old_page); pte_unmap_unlock(); lock_page(old_page); ... }; if (reuse_swap_page(old_page)) reuse', [
      br(at('up_read'), [], b.g('!pte_same(*pte, orig_pte)', pteChanged, P)),
      br(at('wp/reused'), [b.a('trylock_page; reuse_swap_page; unlock_page', trylockReuse, P)], b.g('trylock_page(old_page)', oldUnlocked)),
      br(at('wp/lock'), [b.a('page_cache_get(old_page)', getOld)]),
    ]);
    b.steps(at('wp/lock'), 'do_wp_page', 'lock_page(old_page)', [br(at('wp/relock'), [b.a('lock_page', lockPage)], b.g('!PageLocked(page)', pageUnlocked))]);
    b.steps(at('wp/relock'), 'do_wp_page', 'pte_offset_map_lock(); if (!pte_same()) { unlock_page(old_page); goto unlock } page_cache_release(old_page); if (reuse_swap_page(old_page)) reuse; unlock_page(old_page)', [
      br(at('out_page'), [], b.g('!pte_same(*pte, orig_pte)', pteChanged, P)),
      br(at('wp/reused'), [b.a('page_cache_release; reuse_swap_page; unlock_page', relockReuse, P)]),
    ]);
    b.localStep(at('wp/reused'), 'do_wp_page', 'reused ? reuse : gotten (copy on write)', [
      br(at('up_read'), [], b.g('reused', reused)),
      br(at('cow')),
    ]);
    b.steps(at('cow'), 'do_wp_page', 'page_cache_get(old_page); pte_unmap_unlock(); new_page = alloc_page_vma(); cow_user_page(new_page, old_page)', [
      br(at('cow/map'), [b.a('alloc_page_vma; cow_user_page', cowAlloc)]),
    ]);
    b.steps(at('cow/map'), 'do_wp_page', 'pte_offset_map_lock(); if (pte_same()) { page_add_new_anon_rmap(new_page); set_pte_at_notify(); page_remove_rmap(old_page); page_cache_release(old_page) } else page_cache_release(new_page); pte_unmap_unlock()', [
      br(at('out_put'), [b.a('map the copy', cowMap, P)], b.g('pte_same(*pte, orig_pte)', pteStill, P)),
      br(at('out_put'), [b.a('page_cache_release(copy)', cowLost)]),
    ]);
    b.steps(at('up_read'), 'do_page_fault', 'up_read(&mm->mmap_sem); the access is retried', [
      ...(reads ? [br(at('read'), [b.a('up_read', upRead)], b.g('read fault', isRead))] : []),
      br(at('access'), [b.a('up_read', upRead)]),
    ]);
  }
  b.steps('drain', 'lru_add_drain', 'later, this CPU drains its LRU add pagevec (lru_add_drain())', [br('done', [b.a('lru_add_drain', drain)])]);
  b.final('done');
  return { b, slots };
}
