/**
 * The mbind(MPOL_MF_MOVE | MPOL_MF_LAZY) task of seed 001 (mm/mempolicy.c do_mbind()
 * and mm/migrate.c migrate_pages_unmap_only(), v3.3 with the RFC's patch 03/26), as a
 * step program:
 *
 *   down_write(&mm->mmap_sem)
 *   check_range(): for each present PTE whose page is off the new policy's nodes
 *                  (MPOL_MF_INVERT), migrate_page_add(): isolate_lru_page() onto
 *                  the private pagelist, when page_mapcount(page) == 1
 *   mbind_range(): the VMA takes the new policy (MPOL_BIND to node 1, MPOL_F_MOF)
 *   migrate_pages_unmap_only(&pagelist)
 *   up_write(&mm->mmap_sem)
 *
 * Before down_write, migrate_prep(): lru_add_drain_all() runs each CPU's drain as
 * work on that CPU (schedule_on_each_cpu()), one step per CPU here: a pagevec is only
 * touched by its own CPU, with preemption off.
 */
import { KernelBug } from '../bug.ts';
import { list_add_tail, list_del, list_first_or_null } from '../list.ts';
import { STEP, type ActionFn, type Branch, type GuardFn, ProgramBuilder, br } from '../program.ts';
import {
  MMAP_WRITER, PAGELIST_HEAD, POLICY_MOF, PTE_PRESENT, PTE_TYPE, REASON, lruNode, pteArg, type MappedLayout,
} from './layout.ts';
import { isolate_lru_page, lru_add_drain, putback_lru_page } from './lru.ts';
import {
  F_INDEX, F_MAPPING, PG_dirty, PageAnon, PageKsm, PageLocked, PageSwapCache, PageWriteback, page_count, page_mapcount, page_mapped,
  pageAt, setFlag, trylock_page, unlock_page,
} from './page.ts';
import { SWAP_SUCCESS, TTU_MIGRATE_DEFERRED, try_to_unmap } from './rmap.ts';
import { add_to_swap_cache, get_swap_page } from './swap.ts';

/** The node mbind() binds the range to. */
export const POLICY_NODE = 1;

/** Names of the steps and actions variants replace. */
export const MBIND = {
  trylock: 'unmap/trylock',
  checks: 'unmap/checks',
  ttu: 'unmap/try_to_unmap',
  unlock: 'unmap/unlock',
  drain: 'unmap/drain',
  ttuAction: 'try_to_unmap(page, TTU_MIGRATE_DEFERRED)',
} as const;

/** The ghost reason a virtual page may stay off its policy's node; the first one sticks. */
export function noteReason(m: Uint8Array, lay: MappedLayout, p: number, why: number): void {
  const v = m[pageAt(p, F_INDEX)];
  if (v < lay.vpages && m[lay.reason(v)] === REASON.none) m[lay.reason(v)] = why;
}

export interface MbindSlots {
  readonly page: number;
  readonly slot: number;
  readonly unmapped: number;
}

export function mbindProgram(lay: MappedLayout, cpu: number): { b: ProgramBuilder; slots: MbindSlots } {
  const b = new ProgramBuilder('mbind');
  const slots: MbindSlots = { page: b.local('page', 0xff), slot: b.local('slot'), unmapped: b.local('nr_unmapped') };
  const pg = (m: Uint8Array, L: number) => m[L + slots.page];

  // migrate_prep(): the drain works run on every CPU at once and lru_add_drain_all()
  // waits for them all (flush_work), so they may finish in any order: one event per
  // CPU, and a bitmask of the CPUs done in the task's locals.
  const drained = b.local('drained');
  const drainCpu: ActionFn = (m, L, Pm) => { lru_add_drain(m, lay, Pm.cpu); m[L + drained] |= 1 << Pm.cpu; };
  const notDrained: GuardFn = (m, L, Pm) => (m[L + drained] & (1 << Pm.cpu)) === 0;
  const allDrained: GuardFn = (m, L) => m[L + drained] === (1 << lay.cpus) - 1;
  const prep: Record<string, Branch[]> = { flush_work: [br('down_write', [], b.g('every CPU drained', allDrained))] };
  for (let c = 0; c < lay.cpus; c++) {
    prep[`drain_cpu${c}`] = [br('migrate_prep', [b.a('lru_add_drain on a CPU', drainCpu, { cpu: c })], b.g('CPU not drained yet', notDrained, { cpu: c }))];
  }
  b.step('migrate_prep', 'migrate_prep', 'lru_add_drain_all(): schedule_on_each_cpu(lru_add_drain_per_cpu): a CPU\'s drain work runs; then flush_work waits for all', prep);
  const noWriterNoReader: GuardFn = (m) => m[lay.mmapSem] === 0;
  const downWrite: ActionFn = (m) => { m[lay.mmapSem] = MMAP_WRITER; };
  b.steps('down_write', 'do_mbind', 'down_write(&mm->mmap_sem)', [br(lay.vpages ? 'check0' : 'mbind_range', [b.a('down_write', downWrite)], b.g('mmap_sem free', noWriterNoReader))]);

  // check_pte_range() -> migrate_page_add(), one step per PTE under the ptl, with
  // isolate_lru_page()'s lru_lock nested inside (every writer of the PTE, PG_lru and
  // the LRU list holds one of them; the hardware walk only reads the PTE).
  const checkPte: ActionFn = (m, _L, Pm) => {
    const pte = m[lay.pte(Pm.v)];
    if ((pte & PTE_TYPE) !== PTE_PRESENT) return;
    const p = pteArg(pte);
    if (lay.nid(p) === POLICY_NODE) return; // node_isset(nid, *nodes) == !!(flags & MPOL_MF_INVERT)
    if (page_mapcount(m, p) === 1 && isolate_lru_page(m, lay, p) === 0) {
      list_add_tail(m, lay.S, lruNode(p), PAGELIST_HEAD, 'migrate_page_add');
    } else {
      noteReason(m, lay, p, REASON.notIsolated);
    }
  };
  for (let v = 0; v < lay.vpages; v++) {
    b.steps(`check${v}`, 'check_pte_range', `pte_offset_map_lock(); pte ${v} present and misplaced: migrate_page_add(): isolate_lru_page(page); list_add_tail(&page->lru, pagelist)`, [
      br(v + 1 < lay.vpages ? `check${v + 1}` : 'mbind_range', [b.a('check_pte_range', checkPte, { v })]),
    ]);
  }
  const setPolicy: ActionFn = (m) => { m[lay.policy] = POLICY_MOF | POLICY_NODE; };
  b.steps('mbind_range', 'mbind_range', 'vma->vm_policy = new (MPOL_BIND {1}, MPOL_F_MOF); under mmap_sem held for write', [br('unmap', [b.a('mbind_range', setPolicy)])]);

  // migrate_pages_unmap_only(): list_for_each_entry_safe(page, page2, pagelist, lru).
  const listEmpty: GuardFn = (m) => list_first_or_null(m, lay.S, PAGELIST_HEAD) === 0;
  const countOne: GuardFn = (m, L) => page_count(m, m[L + slots.page]) === 1;
  const takeFirst: ActionFn = (m, L) => { m[L + slots.page] = list_first_or_null(m, lay.S, PAGELIST_HEAD) - 1; };
  const skipped: ActionFn = (m, L) => noteReason(m, lay, pg(m, L), REASON.unmapSkipped);
  b.steps('unmap', 'migrate_pages_unmap_only', 'page = next on pagelist; if (page_count(page) == 1) goto next', [
    br(MBIND.drain, [], b.g('pagelist empty', listEmpty)),
    br('unmap/count', [b.a('page = first on pagelist', takeFirst)]),
  ]);
  b.steps('unmap/count', 'migrate_pages_unmap_only', 'if (page_count(page) == 1) goto next  /* give up easily */', [
    br('unmap/next', [b.a('reason: unmap skipped', skipped)], b.g('page_count(page) == 1', countOne)),
    br(MBIND.trylock),
  ]);
  // trylock_page(): test_and_set_bit_lock(), one atomic step; the guard reads the bit the action sets.
  const unlocked: GuardFn = (m, L) => !PageLocked(m, pg(m, L));
  const lockIt: ActionFn = (m, L) => { trylock_page(m, pg(m, L)); };
  b.steps(MBIND.trylock, 'migrate_pages_unmap_only', 'if (!trylock_page(page)) goto next', [
    br(MBIND.checks, [b.a('trylock_page', lockIt)], b.g('!PageLocked(page)', unlocked)),
    br('unmap/next', [b.a('reason: unmap skipped', skipped)]),
  ]);
  // The tests under the page lock; PG_writeback is the one flag another CPU may
  // change unlocked (end_page_writeback()), read once here.
  const ksmOrWb: GuardFn = (m, L) => PageKsm(m, pg(m, L)) || PageWriteback(m, pg(m, L));
  const noMapping: GuardFn = (m, L) => m[pageAt(pg(m, L), F_MAPPING)] === 0;
  const anonNotCached: GuardFn = (m, L) => PageAnon(m, pg(m, L)) && !PageSwapCache(m, pg(m, L));
  const fileNoMigrate: GuardFn = (m, L) => !PageAnon(m, pg(m, L));
  b.steps(MBIND.checks, 'migrate_pages_unmap_only', 'if (PageKsm(page) || PageWriteback(page)) goto unlock; if (!page->mapping) goto unlock; if (PageAnon(page) && !PageSwapCache(page)) add_to_swap(page)', [
    br(MBIND.unlock, [b.a('reason: unmap skipped', skipped)], b.g('PageKsm(page) || PageWriteback(page)', ksmOrWb)),
    br(MBIND.unlock, [b.a('reason: unmap skipped', skipped)], b.g('!page->mapping', noMapping)),
    br('unmap/add_to_swap', [], b.g('PageAnon(page) && !PageSwapCache(page)', anonNotCached)),
    br(MBIND.unlock, [b.a('reason: unmap skipped', skipped)], b.g('!mapping->a_ops->migratepage', fileNoMigrate)),
    br(MBIND.ttu),
  ]);
  addToSwapSteps(b, lay, 'unmap/add_to_swap', slots.page, slots.slot, MBIND.ttu, MBIND.unlock, (m, L) => {
    noteReason(m, lay, pg(m, L), REASON.unmapFailed);
  });
  const ttu = lazyUnmap(lay, slots, TTU_MIGRATE_DEFERRED);
  b.steps(MBIND.ttu, 'migrate_pages_unmap_only', 'ret = try_to_unmap(page, TTU_MIGRATE_DEFERRED|TTU_IGNORE_MLOCK|TTU_IGNORE_ACCESS); if (ret != SWAP_SUCCESS || page_mapped(page)) nr_failed++; else nr_unmapped++', [
    br(MBIND.unlock, [b.a(MBIND.ttuAction, ttu)]),
  ]);
  const unlock: ActionFn = (m, L) => unlock_page(m, pg(m, L), 'migrate_pages_unmap_only');
  b.steps(MBIND.unlock, 'migrate_pages_unmap_only', 'unlock: unlock_page(page)', [br('unmap/next', [b.a('unlock_page', unlock)])]);
  const next: ActionFn = (m, L, Pm) => {
    const p = pg(m, L);
    list_del(m, lay.S, lruNode(p), 'migrate_pages_unmap_only');
    putback_lru_page(m, lay, Pm.cpu, p);
    m[L + slots.page] = 0xff;
  };
  b.steps('unmap/next', 'migrate_pages_unmap_only', 'next: list_del(&page->lru); dec_zone_page_state(NR_ISOLATED_ANON); putback_lru_page(page)', [
    br('unmap', [b.a('list_del; putback_lru_page', next, { cpu })]),
  ]);
  const anyUnmapped: GuardFn = (m, L) => m[L + slots.unmapped] !== 0;
  const drain: ActionFn = (m, _L, Pm) => lru_add_drain(m, lay, Pm.cpu);
  b.steps(MBIND.drain, 'migrate_pages_unmap_only', 'if (nr_unmapped) lru_add_drain()  /* so fault path can find the pages on the lru */', [
    br('up_write', [b.a('lru_add_drain', drain, { cpu })], b.g('nr_unmapped', anyUnmapped)),
    br('up_write'),
  ]);
  const upWrite: ActionFn = (m) => { m[lay.mmapSem] = 0; m[lay.mbindDone] = 1; };
  b.steps('up_write', 'do_mbind', 'up_write(&mm->mmap_sem); return to user', [br('done', [b.a('up_write', upWrite)])]);
  b.final('done');
  return { b, slots };
}

/**
 * migrate_pages_unmap_only()'s try_to_unmap(page, mode) and its accounting: a page
 * still mapped afterwards is a failure; an unmapped one counts in nr_unmapped (and
 * its virtual page is marked lazily unmapped, a ghost the properties read).
 */
export function lazyUnmap(lay: MappedLayout, slots: MbindSlots, mode: number): ActionFn {
  return (m, L) => {
    const p = m[L + slots.page];
    const ret = try_to_unmap(m, lay, p, mode);
    if (ret !== SWAP_SUCCESS || page_mapped(m, p)) {
      noteReason(m, lay, p, REASON.unmapFailed);
    } else {
      m[L + slots.unmapped] = 1;
      m[lay.lazied(m[pageAt(p, F_INDEX)])] = 1;
    }
  };
}

/**
 * add_to_swap(page) (mm/swap_state.c, v3.3), page locked: get_swap_page() under
 * swap_lock, then add_to_swap_cache() under tree_lock and SetPageDirty(page). Two
 * steps, from `label` to `ok` (added) or `fail` (no swap: `onFail` notes why).
 */
export function addToSwapSteps(
  b: ProgramBuilder, lay: MappedLayout, label: string, pageSlot: number, slotSlot: number, ok: string, fail: string,
  onFail: (m: Uint8Array, L: number) => void,
): void {
  const P = { page: pageSlot, slot: slotSlot };
  const locked = (m: Uint8Array, p: number) => {
    if (!PageLocked(m, p)) throw new KernelBug('VM_BUG_ON(!PageLocked(page))', 'add_to_swap', p);
  };
  const getSwap: ActionFn = (m, L, Pm) => {
    locked(m, m[L + Pm.page]);
    m[L + Pm.slot] = get_swap_page(m, lay);
  };
  const noSwap: ActionFn = (m, L, Pm) => {
    locked(m, m[L + Pm.page]);
    onFail(m, L);
  };
  const swapFull: GuardFn = (m) => { for (let s = 0; s < lay.vpages; s++) if (m[lay.swapMap(s)] === 0) return false; return true; };
  b.step(label, 'add_to_swap', 'VM_BUG_ON(!PageLocked(page)); entry = get_swap_page(); if (!entry.val) return 0', {
    [STEP]: [
      br(fail, [b.a('get_swap_page failed', noSwap, P)], b.g('no free swap slot', swapFull)),
      br(`${label}/cache`, [b.a('get_swap_page', getSwap, P)]),
    ],
  });
  const addCache: ActionFn = (m, L, Pm) => {
    const p = m[L + Pm.page];
    if (add_to_swap_cache(m, lay, p, m[L + Pm.slot]) !== 0) throw new KernelBug('add_to_swap_cache() returned -EEXIST', 'add_to_swap', p);
    setFlag(m, p, PG_dirty);
  };
  b.steps(`${label}/cache`, 'add_to_swap', 'add_to_swap_cache(page, entry); SetPageDirty(page)', [
    br(ok, [b.a('add_to_swap_cache; SetPageDirty', addCache, P)]),
  ]);
}
