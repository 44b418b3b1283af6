/**
 * Known bugs of pageblock-granularity alloc_contig_range(), each put back into the
 * otherwise correct programs. A variant changes code only.
 */
import { type ProgramBuilder, br } from '../../src/kernel/program.ts';
import {
  ACT_GRAB, ACT_ISOLATE, ACT_ISOLATE_MID, ACT_ISOLATE_PAGE, isolatePageBlockWith, setBlockWith, ACT_RETURN, ACT_SPLIT, ACT_UNSET, grabBlockToWith, unsetBlockWith, isolateBlockWith, isolateStepBranches, returnOnIsolationFailure, splitAtBoundaryWith, takeRangeSeed, undoLabel, type ContigCtx,
} from '../../src/kernel/contig.ts';
import {
  MIGRATE_ISOLATE, Z_NR_ISOLATE, __free_one_page, add_to_free_list, rmqueue, del_page_from_free_list,
  get_pageblock_migratetype, is_migrate_isolate_page, set_pageblock_migratetype, FALLBACKS, FPI_NONE, MIGRATE_MOVABLE,
  __isolate_free_page, pageblockNrPages, pageblockOrderOf, F_OWNER, move_freepages_block,
  PageBuddy, buddy_order, maxOrderOf, freeListMigratetype, __mod_zone_freepage_state,
} from '../../src/kernel/buddy.ts';
import { has_unmovable_pages } from '../../src/kernel/isolation.ts';
import { ACT_GET_PAGE, ACT_MIGRATE_MOVE, moveWith } from '../../src/kernel/contig-migrate.ts';
import { ACT_CPU_ALLOC, ACT_CPU_FREE_COMMIT, ACT_DRAIN, cpuAllocWith, cpuFreeCommitWith, drainWith } from './cpu.ts';
import { drain_pages_zone, free_unref_page_commit, rmqueue_pcplist } from '../../src/kernel/pcp.ts';
import type { ActionFn } from '../../src/kernel/program.ts';
import { pcpCountAt, pcpCpusOf } from '../../src/kernel/buddy.ts';

/** fallbacks[] with MIGRATE_ISOLATE in every row (mutation-fallback-to-isolate). */
const FALLBACKS_WITH_ISOLATE = FALLBACKS.map((row) => [...row, MIGRATE_ISOLATE]);

/** set_migratetype_isolate() without move_freepages_block() (mutation-isolate-no-move). */
function setMigratetypeIsolateNoMove(m: Uint8Array, z: number, pfn: number): boolean {
  if (is_migrate_isolate_page(m, z, pfn)) return false;
  set_pageblock_migratetype(m, z, pfn, MIGRATE_ISOLATE);
  m[z + Z_NR_ISOLATE]++;
  return true;
}

/**
 * find_large_buddy(start_pfn) (mm/page_alloc.c, v6.10): the head of the free page
 * that holds start_pfn, or start_pfn when none does.
 */
function findLargeBuddy(m: Uint8Array, z: number, start: number): number {
  let order = 0;
  let pfn = start;
  while (!PageBuddy(m, pfn)) {
    if (++order > maxOrderOf(m, z) - 1) return start;
    pfn &= ~0 << order;
  }
  return pfn + (1 << buddy_order(m, pfn)) <= start ? start : pfn;
}

/**
 * set_migratetype_isolate() with v6.10's move_freepages_block_isolate() (Johannes
 * Weiner, "mm: page_isolation: prepare for hygienic freelists", 2024) in one
 * zone->lock section, accounted as v5.19 accounts (fix-isolate-splits-straddling):
 * the block's own free pages move to the Isolate lists, and a free page larger than
 * the block that holds its first pfn (a tail block of a larger buddy, or the head of
 * one larger than a pageblock) is split at once into pageblock-sized pieces freed to
 * their own blocks' lists (split_large_buddy()), so no moment leaves part of an
 * isolated block on a Movable list.
 */
function setMigratetypeIsolateSplitting(m: Uint8Array, z: number, pfn: number): boolean {
  if (is_migrate_isolate_page(m, z, pfn)) return false;
  if (has_unmovable_pages(m, z, pfn) >= 0) return false;
  const nr = pageblockNrPages(m, z);
  const start = pfn & ~(nr - 1);
  const mt = get_pageblock_migratetype(m, z, start);
  set_pageblock_migratetype(m, z, start, MIGRATE_ISOLATE);
  m[z + Z_NR_ISOLATE]++;
  __mod_zone_freepage_state(m, z, -move_freepages_block(m, z, start, MIGRATE_ISOLATE), mt);
  const head = findLargeBuddy(m, z, start);
  if (PageBuddy(m, head) && (head !== start || buddy_order(m, head) > pageblockOrderOf(m, z))) {
    const order = buddy_order(m, head);
    const listMt = freeListMigratetype(m, z, head);
    del_page_from_free_list(m, z, head, order);
    if (listMt !== MIGRATE_ISOLATE) __mod_zone_freepage_state(m, z, -(1 << order), listMt);
    // split_large_buddy(): each pageblock-sized piece to its own block's list.
    for (let p = head; p < head + (1 << order); p += nr) __free_one_page(m, z, p, pageblockOrderOf(m, z), get_pageblock_migratetype(m, z, p), FPI_NONE);
  }
  return true;
}

/** __isolate_free_page() that converts isolated pageblocks too (mutation-isolate-free-page-converts-isolated). */
function isolateFreePageConverting(m: Uint8Array, z: number, pfn: number, order: number): number {
  const n = __isolate_free_page(m, z, pfn, order);
  if (n && order >= pageblockOrderOf(m, z) - 1) {
    for (let page = pfn; page < pfn + (1 << order) - 1; page += pageblockNrPages(m, z)) set_pageblock_migratetype(m, z, page, MIGRATE_MOVABLE);
  }
  return n;
}

/** The old page after a migration: the owner's reference gone (ghost cleared), the page never freed (mutation-migrate-leaks-old-page). */
function leakOldPage(m: Uint8Array, _z: number, pfn: number, order: number): { pfn: number; order: number } {
  for (let i = 0; i < 1 << order; i++) m[(pfn + i) * PAGE_STRIDE + F_OWNER] = 0;
  return { pfn, order };
}

/** unset_migratetype_isolate() without the NR_FREE_PAGES update of the pages moved back (mutation-unset-no-accounting). */
function unsetNoAccounting(m: Uint8Array, z: number, pfn: number, migratetype: number): void {
  if (!is_migrate_isolate_page(m, z, pfn)) return;
  move_freepages_block(m, z, pfn, migratetype);
  set_pageblock_migratetype(m, z, pfn, migratetype);
  m[z + Z_NR_ISOLATE]--;
}

/** expand() without set_buddy_order() (mutation-expand-no-buddy-order). */
function expandNoOrder(m: Uint8Array, z: number, pfn: number, low: number, high: number, mt: number): void {
  let size = 1 << high;
  while (high > low) {
    high--;
    size >>= 1;
    add_to_free_list(m, z, pfn + size, high, mt);
  }
}
const rmqueueExpandNoOrder = (m: Uint8Array, z: number, _cpu: number, order: number, mt: number): number => rmqueue(m, z, order, mt, _cpu, undefined, expandNoOrder);

/**
 * split_free_page() as the seed (v5 of b2c9e2fbba32) has it: no recheck that the page
 * is still a free page of that order under zone->lock (88ee134320b8 added it: "free
 * page changed before split, check it again"), and no NR_FREE_PAGES update.
 */
function splitFreePageSeed(m: Uint8Array, z: number, freePfn: number, order: number, splitOffset: number): boolean {
  del_page_from_free_list(m, z, freePfn, order);
  for (let pfn = freePfn; pfn < freePfn + (1 << order);) {
    const mt = get_pageblock_migratetype(m, z, pfn);
    const freeOrder = 31 - Math.clz32(splitOffset);
    __free_one_page(m, z, pfn, freeOrder, mt, FPI_NONE);
    pfn += 1 << freeOrder;
    splitOffset -= 1 << freeOrder;
    if (splitOffset === 0) splitOffset = (1 << order) - (pfn - freePfn);
  }
  return true;
}
import type { Scope, Variant } from '../../src/system.ts';
import { PAGE_STRIDE } from '../../src/kernel/page.ts';

export interface ContigVariant extends Variant {
  /** Patch contig actor k's program. */
  readonly patch: (b: ProgramBuilder, k: number, ctx: ContigCtx) => void;
  /** Patch a CPU's program. */
  readonly cpuPatch?: (b: ProgramBuilder) => void;
  /** Patch a CPU's drain work. */
  readonly kworkerPatch?: (b: ProgramBuilder) => void;
  /** The scope at which the tests find it (and its committed trace was made). */
  readonly scope: Scope;
}

const AT = 'acr';

/**
 * __drain_all_pages() that drains every CPU's per-cpu list itself, from the calling
 * CPU, as v6.0 does (443c2accd1b6) once pcp->lock is a spinlock any CPU may take
 * (4b23a68f9536); at v5.19 the lists are under local_lock only, so the caller takes
 * no lock the list's own CPU respects (mutation-remote-drain-without-pcp-lock).
 */
const drainRemotely: ActionFn = (m, _L, P, A) => {
  m[P.mutex] = A + 1;
  for (let cpu = 0; cpu < pcpCpusOf(m, P.z); cpu++) if (m[pcpCountAt(m, P.z, cpu)]) drain_pages_zone(m, P.z, cpu);
};

export const CONTIG_VARIANTS: readonly ContigVariant[] = [
  {
    name: 'no-split-straddling',
    description: 'isolate_single_pageblock() only sets the migratetype: a free page straddling the range boundary is not split into its pageblocks\' free lists (and an in-use one is not migrated), as before the patch. The free page stays whole on the list of its head\'s pageblock, so its pages in the other pageblock are counted and taken with the wrong one.',
    source: 'Seed 002 changelog: "Special handling is needed for free pages and in-use pages across the boundaries of the range ... Because these partially isolated pages causes free page accounting issues. The free pages will be split and freed into separate migratetype lists"; isolate_single_pageblock() comment: "When either pageblock is isolated, if it is a free page, the page is not split into separate migratetype lists, which is supposed to".',
    expect: { kind: 'termination', property: 'quiet-alloc-succeeds' },
    scope: { cpus: 0, contigs: 1, range: 0, exact: 0 },
    patch(b) {
      for (const site of ['isb-start', 'isb-end']) {
        const scan = `${AT}/${site}/scan`;
        const ok = b.nodes[scan].on.step[0].target; // 'pfn >= boundary_pfn' leads out
        b.replace(scan, { step: [br(ok)] }, 'no scan of the boundary: straddling pages are left as they are');
      }
    },
  },
  {
    name: 'single-block-isolated-twice',
    description: 'start_isolate_page_range() without skip_isolation: when the range is one pageblock, its first and last pageblocks are the same, the second isolate_single_pageblock() finds it already isolated (by the first) and fails, so every such allocation fails.',
    source: 'v5.19 start_isolate_page_range(): "if (isolate_start == isolate_end - pageblock_nr_pages) skip_isolation = true;" and isolate_single_pageblock()\'s skip_isolation parameter, added when isolate_single_pageblock() switched to set_migratetype_isolate() (88ee134320b8).',
    expect: { kind: 'termination', property: 'quiet-alloc-succeeds' },
    scope: { cpus: 0, contigs: 1, range: 1, exact: 0 },
    patch(b, _k, ctx) {
      const at = `${AT}/isb-end`;
      const node = b.nodes[at];
      const scan = node.on.step[node.on.step.length - 1].target;
      const pb = ctx.pageblockNr;
      const allocEnd = (ctx.end + pb - 1) & ~(pb - 1);
      const block = allocEnd - pb;
      const [desc, branches] = isolateStepBranches(b, ctx, block, block & ~(ctx.maxOrderNr - 1), false, scan, `${at}/undo-start`);
      b.replace(at, { step: branches }, desc);
    },
  },
  {
    name: 'seed-split-without-recheck',
    description: 'split_free_page() as the seed has it: the scan read PageBuddy(page) and buddy_order(page) without zone->lock, and split_free_page() takes the lock and splits without checking that the page is still a free page of that order. A CPU that allocates part of it or frees its buddy in between (the page merged into a larger one) makes it unlink a page that is no longer on a free list: list_del() of a poisoned entry (CONFIG_DEBUG_LIST: "list_del corruption").',
    source: '88ee134320b8 "mm: fix a potential infinite loop in start_isolate_page_range()" (Zi Yan, 2022): split_free_page() returns -ENOENT when "!PageBuddy(free_page) || buddy_order(free_page) != order", and isolate_single_pageblock() rescans: "free page changed before split, check it again".',
    expect: { kind: 'kernel-bug', property: 'list_del corruption, p0.lru->next is LIST_POISON1' },
    scope: { cpus: 2, contigs: 1, range: 0, exact: 0 },
    patch(b) {
      b.replaceAction(ACT_SPLIT, splitAtBoundaryWith(splitFreePageSeed));
    },
  },
  {
    name: 'mutation-isolate-no-move',
    description: 'Seeded mutation (no kernel commit): set_migratetype_isolate() marks the pageblock MIGRATE_ISOLATE but leaves its free pages on their Movable lists (no move_freepages_block()), so the allocator would hand them out; isolate-lists-agree sees it when the isolating step ends.',
    source: 'Seeded mutation of v5.19 set_migratetype_isolate(): "nr_pages = move_freepages_block(zone, page, MIGRATE_ISOLATE, NULL); __mod_zone_freepage_state(zone, -nr_pages, mt);" left out.',
    expect: { kind: 'invariant', property: 'isolate-lists-agree' },
    scope: { cpus: 2, contigs: 1, range: 0, exact: 0 },
    patch(b) {
      b.replaceAction(ACT_ISOLATE, isolateBlockWith(setMigratetypeIsolateNoMove));
    },
  },
  {
    name: 'mutation-expand-no-buddy-order',
    description: 'Seeded mutation (no kernel commit): expand() puts the split-off halves on the free list without set_buddy_order(), so the free lists hold pages that are not PageBuddy.',
    source: 'Seeded mutation of v5.19 expand(): "add_to_free_list(&page[size], zone, high, migratetype); set_buddy_order(&page[size], high);" without the second call.',
    expect: { kind: 'invariant', property: 'free-lists-consistent' },
    scope: { cpus: 2, contigs: 1, range: 0, exact: 0 },
    patch() {},
    cpuPatch(b) {
      b.replaceAction(ACT_CPU_ALLOC, cpuAllocWith(rmqueueExpandNoOrder));
    },
  },
  {
    name: 'no-bulk-recheck',
    description: 'free_pcppages_bulk() frees each page with the migratetype cached when it was freed, without re-reading the pageblock\'s when a pageblock of the zone is isolated: a page a CPU freed to its per-cpu list before its pageblock was isolated goes to a Movable list when drain_all_pages() drains it, and is handed out from an isolated pageblock.',
    source: '51bb1a4093cc "mm/page_alloc: add freepage on isolate pageblock to correct buddy list" (Joonsoo Kim, v3.18): "/* Pageblock could have been isolated meanwhile */ if (unlikely(isolated_pageblocks)) mt = get_pageblock_migratetype(page);".',
    expect: { kind: 'invariant', property: 'isolated-never-handed-out' },
    scope: { cpus: 2, contigs: 1, range: 0, exact: 0 },
    patch() {},
    kworkerPatch(b) {
      b.replaceAction(ACT_DRAIN, drainWith(false));
    },
  },
  {
    name: 'no-free-one-page-recheck',
    kernelFunction: 'mm/page_alloc.c: free_one_page',
    description: 'free_one_page() frees a page whose cached migratetype is MIGRATE_ISOLATE onto the Isolate list without re-reading the pageblock\'s type under zone->lock: a CPU that read its page\'s pageblock as isolated (free_unref_page_prepare(), no lock) and frees it after alloc_contig_range() has un-isolated the block puts it on an Isolate list, where nothing allocates it.',
    source: 'ad53f92eb416 "mm/page_alloc: fix incorrect isolation behavior by rechecking migratetype" (Joonsoo Kim, v3.18), case 1 of its changelog: "freepage go into isolate buddy list, although pageblock is already unisolated"; the fix: "if (unlikely(has_isolate_pageblock(zone) || is_migrate_isolate(migratetype))) migratetype = get_pfnblock_migratetype(page, pfn);".',
    expect: { kind: 'invariant', property: 'isolate-lists-agree' },
    scope: { cpus: 1, contigs: 1, range: 0, exact: 0 },
    patch() {},
    cpuPatch(b) {
      b.replaceAction(ACT_CPU_FREE_COMMIT, cpuFreeCommitWith((m, z, cpu, pfn) => free_unref_page_commit(m, z, cpu, pfn, undefined, false)));
    },
  },
  {
    name: 'mutation-fallback-to-isolate',
    description: 'Seeded mutation (no kernel commit): the fallbacks[] rows of __rmqueue_fallback() list MIGRATE_ISOLATE, so an allocation that finds its own lists empty steals from the free lists of an isolated pageblock.',
    source: 'Seeded mutation of v5.19 fallbacks[]: "[MIGRATE_MOVABLE] = { MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE, MIGRATE_TYPES }" (MIGRATE_ISOLATE is never a fallback: "MIGRATE_ISOLATE ... can\'t allocate from here").',
    expect: { kind: 'invariant', property: 'isolated-never-handed-out' },
    // --range 1: at --range 0 --steal 1, v5.19 itself steals an isolated pageblock
    // within 3 steps (the finding steal-overwrites-isolate); here it passes.
    scope: { cpus: 2, contigs: 1, range: 1, exact: 0, steal: 1 },
    patch() {},
    cpuPatch(b) {
      b.replaceAction(ACT_CPU_ALLOC, cpuAllocWith((m, z, cpu, order, mt) => rmqueue_pcplist(m, z, cpu, order, mt, cpu, undefined, FALLBACKS_WITH_ISOLATE)));
    },
  },
  {
    name: 'mutation-isolate-free-page-converts-isolated',
    description: 'Seeded mutation (no kernel commit): __isolate_free_page() turns every pageblock of a page of at least half a pageblock into MIGRATE_MOVABLE, isolated ones included, so alloc_contig_range() taking the free pages of its isolated range un-isolates the blocks behind zone->lock\'s back: nr_isolate_pageblock is never given back.',
    source: 'Seeded mutation of v5.19 __isolate_free_page(): "if (order >= pageblock_order - 1) { ... if (!is_migrate_isolate(mt) && !is_migrate_cma(mt) && !is_migrate_highatomic(mt)) set_pageblock_migratetype(page, MIGRATE_MOVABLE);" without the is_migrate_isolate() test.',
    expect: { kind: 'termination', property: 'undo-restores-migratetypes' },
    scope: { cpus: 0, contigs: 1, range: 0, exact: 0 },
    patch(b) {
      b.replaceAction(ACT_GRAB, grabBlockToWith(isolateFreePageConverting));
    },
  },
  {
    name: 'mutation-migrate-leaks-old-page',
    description: 'Seeded mutation (no kernel commit): a successful migration moves the owner to the new page but never drops the last reference to the old one, so it is neither free nor anyone\'s: a leaked page.',
    source: 'Seeded mutation of v5.19 migrate_pages() -> unmap_and_move(): "if (rc == MIGRATEPAGE_SUCCESS) { ... put_page(page); }" (the old page\'s last reference) left out.',
    expect: { kind: 'termination', property: 'pages-accounted' },
    scope: { cpus: 1, contigs: 1, range: 0, exact: 0 },
    patch(b) {
      b.replaceAction(ACT_MIGRATE_MOVE, moveWith(leakOldPage));
    },
  },
  {
    name: 'mutation-isolate-without-reference',
    kernelFunction: 'mm/compaction.c: isolate_migratepages_block',
    description: 'Seeded mutation (no kernel commit): isolate_migratepages_block() goes on to TestClearPageLRU() without get_page_unless_zero(), so it holds no reference: the owner\'s unmap in between is the last put_page() and frees the page (PG_lru cleared by __page_cache_release()), and isolate_fail_put puts the reference it never took: put_page() of a free page.',
    source: 'Seeded mutation of v5.19 isolate_migratepages_block(): "if (unlikely(!get_page_unless_zero(page))) goto isolate_fail;" left out (the reference has been taken before TestClearPageLRU() since "mm/compaction: do page isolation first in compaction", Alex Shi, v5.11).',
    expect: { kind: 'kernel-bug', property: 'VM_BUG_ON_PAGE(page_ref_count(page) == 0)' },
    scope: { cpus: 1, contigs: 1, range: 0, exact: 0 },
    patch(b) {
      b.replaceAction(ACT_GET_PAGE, () => {});
    },
  },
  {
    name: 'mutation-unset-no-accounting',
    description: 'Seeded mutation (no kernel commit): unset_migratetype_isolate() moves the pageblock\'s free pages back to their lists without __mod_zone_freepage_state(), so NR_FREE_PAGES loses them.',
    source: 'Seeded mutation of v5.19 unset_migratetype_isolate(): "nr_pages = move_freepages_block(zone, page, migratetype, NULL); __mod_zone_freepage_state(zone, nr_pages, migratetype);" without the second call.',
    expect: { kind: 'invariant', property: 'nr-free-pages-exact' },
    scope: { cpus: 1, contigs: 1, range: 0, exact: 1 },
    patch(b) {
      b.replaceAction(ACT_UNSET, unsetBlockWith(unsetNoAccounting));
    },
  },
  {
    name: 'mutation-undo-short',
    description: 'Seeded mutation (no kernel commit): undo_isolate_page_range() stops one pageblock short of alloc_end, so the last pageblock of the range stays MIGRATE_ISOLATE after alloc_contig_range() returns.',
    source: 'Seeded mutation of v5.19 undo_isolate_page_range(): "for (pfn = start_pfn; pfn < end_pfn; pfn += pageblock_nr_pages)" made to end at end_pfn - pageblock_nr_pages.',
    expect: { kind: 'termination', property: 'undo-restores-migratetypes' },
    scope: { cpus: 0, contigs: 1, range: 0, exact: 0 },
    patch(b, _k, ctx) {
      const pb = ctx.pageblockNr;
      const allocStart = ctx.start & ~(pb - 1);
      const allocEnd = (ctx.end + pb - 1) & ~(pb - 1);
      const last = (allocEnd - allocStart) / pb - 1;
      const node = b.nodes[undoLabel(AT, last)];
      const br0 = node.on.step[0];
      b.replace(undoLabel(AT, last), { step: [br(br0.target, br0.actions.filter((a) => a.type === ACT_RETURN))] }, 'the last pageblock is not un-isolated');
    },
  },
  {
    name: 'mutation-remote-drain-without-pcp-lock',
    kernelFunction: 'mm/page_alloc.c: __drain_all_pages',
    description: 'Seeded mutation (no kernel commit at v5.19): __drain_all_pages() drains every CPU\'s per-cpu list from the caller (alloc_contig_range()) instead of queueing drain_local_pages_wq on each CPU. v6.0 does drain remotely (443c2accd1b6 "mm/page_alloc: remotely drain per-cpu lists"), but only after 4b23a68f9536 "mm/page_alloc: protect PCP lists with a spinlock" made pcp->lock a lock other CPUs take; at v5.19 a list is under its CPU\'s local_lock only, so the remote drain takes a page off a list whose lock it does not hold. The page-lifecycle monitor sees it at the first such drain: the pcp -> free move is taken by a contig caller, not by the list\'s CPU or its drain work, and without the pcp lock.',
    source: 'Seeded mutation of v5.19 __drain_all_pages(): "for_each_cpu(cpu, &cpus_with_pcps) { ... queue_work_on(cpu, mm_percpu_wq, drain); } for_each_cpu(cpu, &cpus_with_pcps) flush_work(...)" replaced by v6.0\'s "drain_pages_zone(cpu, zone)" for every CPU, without v6.0\'s pcp spinlock (443c2accd1b6, 4b23a68f9536, Mel Gorman / Nicolas Saenz Julienne, 2022).',
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    scope: { cpus: 1, contigs: 1, range: 0, exact: 0 },
    patch(b) {
      b.replaceAction('__drain_all_pages: queue', drainRemotely);
    },
  },
  {
    name: 'fix-return-on-isolation-failure',
    description: 'The fix of the v5.19 finding "goto done": when start_isolate_page_range() fails, alloc_contig_range() returns at once (as before the seed) instead of running undo_isolate_page_range() over its whole range, which un-isolates the pageblocks a concurrent alloc_contig_range() on an overlapping range isolated. start_isolate_page_range() has already undone what it isolated itself. A fix, so the check passes.',
    source: 'Seed 002, alloc_contig_range(): "- if (ret) return ret; + ... if (ret) goto done;" (b2c9e2fbba32, v5.19); start_isolate_page_range()\'s comment: "one thread will notice pageblocks in the overlapping range already set to isolate ... This prevents two threads from simultaneously working on overlapping ranges." See docs/findings.md.',
    expect: { kind: 'kernel-bug', property: 'VM_BUG_ON_PAGE(!is_migrate_isolate(saved_mt))' },
    fix: true,
    scope: { cpus: 0, contigs: 2, range: 1, exact: 0 },
    patch(b, _k, ctx) {
      returnOnIsolationFailure(b, AT, ctx, 'done');
    },
  },
  {
    name: 'fix-isolate-splits-straddling',
    kernelFunction: 'mm/page_isolation.c: set_migratetype_isolate',
    description: 'A fix of the v5.19 finding "stealing overwrites an isolated pageblock\'s type": set_migratetype_isolate() splits a free page that straddles the pageblock in the same zone->lock section (v6.10\'s move_freepages_block_isolate()), so no free page larger than a pageblock holds part of an isolated block, and a fallback allocation can no longer take such a page and change_pageblock_range() the isolated block. A fix, so the check passes.',
    source: 'v6.10 "mm: page_isolation: prepare for hygienic freelists" (Johannes Weiner, 2024): move_freepages_block_isolate() with find_large_buddy() and split_large_buddy() ("We\'re a tail block in a larger buddy" / "We\'re the starting block of a larger buddy"). See docs/findings.md.',
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    fix: true,
    scope: { cpus: 2, contigs: 1, range: 0, exact: 0, steal: 1 },
    patch(b) {
      b.replaceAction(ACT_ISOLATE, isolateBlockWith(setMigratetypeIsolateSplitting));
      b.replaceAction(ACT_ISOLATE_PAGE, isolatePageBlockWith(setMigratetypeIsolateSplitting));
      // Pageblocks between the two ends exist only for ranges of more than two of them.
      if (ACT_ISOLATE_MID in b.actions) b.replaceAction(ACT_ISOLATE_MID, setBlockWith(setMigratetypeIsolateSplitting));
    },
  },
  {
    name: 'seed-alloc-range',
    description: 'alloc_contig_range() ends as in the seed: test and take [alloc_start, alloc_end) and free only [alloc_start, start) and [end, alloc_end), ignoring the outer_end that isolate_freepages_range() returns. When the free page taken at the end runs past alloc_end (the next pageblock is isolated by an overlapping alloc_contig_range(), so the split halves merge again), its pages past alloc_end are never given back.',
    source: 'Seed 002, alloc_contig_range(): "- free_contig_range(end, outer_end - end); + free_contig_range(end, alloc_end - end);"; v5.19 as merged keeps outer_start/outer_end and frees [end, outer_end).',
    expect: { kind: 'termination', property: 'range-whole-or-nothing' },
    scope: { cpus: 1, contigs: 2, range: 0, exact: 0 },
    patch(b, _k, ctx) {
      takeRangeSeed(b, AT, ctx, `${AT}/undo`);
      b.replace(`${AT}/take`, { step: [br(`${AT}/seed-test`)] }, 'after migration: take [alloc_start, alloc_end) (the seed)');
    },
  },
];

/**
 * Findings: v5.19's own code, unmodified, violates a property at a scope. Each has a
 * committed trace in counterexamples/contig/findings/ and an entry in docs/findings.md.
 */
export interface Finding {
  readonly name: string;
  readonly scope: Scope;
  readonly property: string;
  readonly steps: number;
}

export const CONTIG_FINDINGS: readonly Finding[] = [
  { name: 'goto-done-unisolates-other-caller', scope: { cpus: 0, contigs: 2, range: 1 }, property: 'VM_BUG_ON_PAGE(!is_migrate_isolate(saved_mt))', steps: 5 },
  { name: 'isolated-handed-out', scope: { cpus: 2, contigs: 2, range: 0 }, property: 'isolated-never-handed-out', steps: 19 },
  { name: 'isolated-handed-out-order1', scope: { cpus: 2, contigs: 2, range: 0, orders: 1 }, property: 'isolated-never-handed-out', steps: 4 },
  { name: 'steal-overwrites-isolate', scope: { cpus: 2, contigs: 1, range: 0, steal: 1 }, property: 'page-lifecycle', steps: 3 },
  { name: 'nr-free-drift', scope: { cpus: 2, contigs: 2, range: 0, exact: 1 }, property: 'nr-free-pages-exact', steps: 8 },
];
