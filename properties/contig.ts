/**
 * Properties of alloc_contig_range() at pageblock granularity (kernel v5.19, seed 002:
 * "mm: make alloc_contig_range work at pageblock granularity", Zi Yan 2022), racing
 * with CPUs that allocate and free pages and with another alloc_contig_range().
 */
import {
  F_OWNER, MIGRATE_ISOLATE, MT_NAMES, PageBuddy, freeListOf, Z_NR_ISOLATE, buddy_order, checkFreeLists, freeListHead,
  get_pageblock_migratetype, list_empty_head, maxOrderOf, nrPageblocks, pageblockNrPages,
} from '../src/kernel/buddy.ts';
import { RESULT_FAILED, RESULT_OK } from '../src/kernel/contig.ts';
import { F_LIST, PAGE_STRIDE } from '../src/kernel/page.ts';
import { pcpPages } from '../src/kernel/pcp.ts';
import type { EndProperty, Property, StateInvariant, StepInvariant } from '../src/system.ts';

export interface ContigLayout {
  readonly npages: number;
  /** Byte offset of the zone. */
  readonly z: number;
  readonly cpus: number;
  readonly contigs: number;
  /** Actor index of contig k is cpus + k. */
  contigActor(k: number): number;
  /** [start, end) of contig k. */
  range(k: number): readonly [number, number];
  /** Ghost result byte of contig k (RESULT_*). */
  result(k: number): number;
  /** slot[c]: the page CPU c holds, or NO_PAGE. */
  readonly slots: number;
  /** Ghost: 1 when nothing races with the one alloc_contig_range (no CPUs, one contig). */
  readonly quiet: number;
  /** The migratetype every pageblock starts with and is restored to. */
  readonly migratetype: number;
  /** CPUs may allocate Unmovable pages, which may steal pageblocks. */
  readonly steal?: boolean;
}

export const NO_PAGE = 0xff;

const owner = (m: Uint8Array, pfn: number) => m[pfn * PAGE_STRIDE + F_OWNER] - 1;

export function contigProperties(lay: ContigLayout, exact = false): Property[] {
  const z = lay.z;
  /** Is the page on a list that is not a buddy free list (a CPU's per-cpu list)? */
  const onPcpList = (m: Uint8Array, pfn: number): boolean => m[pfn * PAGE_STRIDE + F_LIST] !== 0 && freeListOf(m, z, m[pfn * PAGE_STRIDE + F_LIST]) === null;

  const freeLists: StateInvariant = {
    name: 'free-lists-consistent',
    kind: 'invariant',
    scope: 'state',
    rule: 'Free-page accounting per order matches the lists: every page on free_list[order][mt] is PageBuddy of that order and knows its list, nr_free[order] counts them, free pages are disjoint, no PageBuddy page is off the lists.',
    source: 'mm/page_alloc.c (v5.19): __free_one_page(), expand(), del_page_from_free_list(), move_to_free_list().',
    check: (m) => checkFreeLists(m, z, false),
  };

  const nrFreeExact: StateInvariant = {
    name: 'nr-free-pages-exact',
    kind: 'invariant',
    scope: 'state',
    rule: 'Free-page accounting per migratetype matches the lists: NR_FREE_PAGES counts exactly the free pages on lists other than MIGRATE_ISOLATE\'s. Checked with --exact 1 only: v5.19 breaks it (see the README).',
    source: 'mm/page_alloc.c (v5.19) __mod_zone_freepage_state() in __free_one_page(), rmqueue and set/unset_migratetype_isolate(), which assume a free page sits on the list of its pageblock\'s migratetype.',
    check(m) {
      const why = checkFreeLists(m, z, true);
      return why && why.startsWith('NR_FREE_PAGES') ? why : null;
    },
  };

  const notHandedOut: StepInvariant = {
    name: 'isolated-never-handed-out',
    kind: 'invariant',
    scope: 'step',
    rule: 'The buddy allocator never hands a CPU a page whose head lies in an isolated pageblock: free pages of isolated pageblocks sit on the MIGRATE_ISOLATE lists, which nothing allocates from. (Pages on a CPU\'s per-cpu list are that CPU\'s until drain_all_pages() drains them, and are not checked.)',
    source: 'include/linux/page-isolation.h and start_isolate_page_range() (v5.19): "Making page-allocation-type to be MIGRATE_ISOLATE means free pages in the range will never be allocated."',
    check(pre, post) {
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        const was = owner(pre, pfn);
        const is = owner(post, pfn);
        if (was === is || is < 0 || is >= lay.cpus) continue;
        // A page taken from a CPU's own per-cpu list is not the buddy's to refuse:
        // the kernel drains those lists (drain_all_pages()) after isolating.
        if (onPcpList(pre, pfn)) continue;
        // Only the head of a block the CPU just received: its first page.
        if (pfn > 0 && owner(post, pfn - 1) === is && owner(pre, pfn - 1) !== is) continue;
        if (get_pageblock_migratetype(pre, z, pfn) === MIGRATE_ISOLATE) return `cpu${is} was handed pfn ${pfn} of an isolated pageblock`;
      }
      return null;
    },
  };

  /**
   * Where v5.19 promises that a free page's list and its pageblock's migratetype
   * agree. Not in general: a free page's list is the migratetype it was freed or
   * moved with, and v5.19 lets the two part (expand() of a page straddling an
   * isolated pageblock, stealing; see docs/findings.md). What it does promise is
   * about MIGRATE_ISOLATE, where the allocator's safety rests on it:
   * (a) set_migratetype_isolate() sets the pageblock's type and moves its free pages
   *     to the Isolate lists (move_freepages_block()) in one zone->lock section, so
   *     when the step that isolates a pageblock ends, every free page whose head
   *     lies in it is on an Isolate list;
   * (b) nothing puts a free page on an Isolate list unless its pageblock is isolated
   *     under zone->lock (free_one_page() and free_pcppages_bulk() re-read the
   *     pageblock's type under the lock, ad53f92eb416 / 51bb1a4093cc;
   *     unset_migratetype_isolate() moves the block's free pages back before it
   *     clears the type), so at every state a free page on an Isolate list lies in an
   *     isolated pageblock. Nothing allocates from the Isolate lists: a page there in
   *     a pageblock that is not isolated is lost to the allocator.
   * Each step is one zone->lock section (or a lockless step that touches no free
   * list), so (a) is checked at the end of the isolating step and (b) after every step.
   */
  const isolateListsAgree: StepInvariant = {
    name: 'isolate-lists-agree',
    kind: 'invariant',
    scope: 'step',
    rule: 'A free page on a MIGRATE_ISOLATE free list lies in a MIGRATE_ISOLATE pageblock; and the step that isolates a pageblock leaves every free page whose head lies in it on a MIGRATE_ISOLATE list.',
    source: 'mm/page_isolation.c set_migratetype_isolate() / unset_migratetype_isolate() (v5.19): set_pageblock_migratetype() and move_freepages_block() under one zone->lock; mm/page_alloc.c free_one_page() / free_pcppages_bulk() (v5.19): "if (unlikely(has_isolate_pageblock(zone) || is_migrate_isolate(migratetype))) migratetype = get_pfnblock_migratetype(page, pfn);" (ad53f92eb416: otherwise a "freepage go into isolate buddy list, although pageblock is already unisolated").',
    check(pre, post) {
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        if (!PageBuddy(post, pfn)) continue;
        const where = freeListOf(post, z, post[pfn * PAGE_STRIDE + F_LIST]);
        if (where === null) continue; // free-lists-consistent's business
        const mt = get_pageblock_migratetype(post, z, pfn);
        if (where.mt === MIGRATE_ISOLATE && mt !== MIGRATE_ISOLATE) {
          return `free pfn ${pfn} is on free_list[${where.order}][Isolate] but its pageblock is ${MT_NAMES[mt]}: nothing will allocate it`;
        }
        if (mt === MIGRATE_ISOLATE && where.mt !== MIGRATE_ISOLATE && get_pageblock_migratetype(pre, z, pfn) !== MIGRATE_ISOLATE) {
          return `the step that isolated pfn ${pfn}'s pageblock left the free page on free_list[${where.order}][${MT_NAMES[where.mt]}]`;
        }
      }
      return null;
    },
  };

  const undoRestores: EndProperty = {
    name: 'undo-restores-migratetypes',
    kind: 'termination',
    scope: 'end',
    rule: 'When every alloc_contig_range() has returned, no pageblock is left MIGRATE_ISOLATE, nr_isolate_pageblock is 0, every pageblock has its migratetype back (unless an Unmovable allocation stole it, --steal 1), and no free page sits on a MIGRATE_ISOLATE list.',
    source: 'mm/page_isolation.c undo_isolate_page_range() / unset_migratetype_isolate() (v5.19), called at alloc_contig_range()\'s done: label on every path.',
    check(m) {
      for (let b = 0; b < nrPageblocks(m, z); b++) {
        const mt = get_pageblock_migratetype(m, z, b * pageblockNrPages(m, z));
        // An Unmovable allocation may legitimately steal a block (--steal 1).
        if (mt !== lay.migratetype && (mt === MIGRATE_ISOLATE || !lay.steal)) return `pageblock ${b} is ${MT_NAMES[mt]}, not ${MT_NAMES[lay.migratetype]}`;
      }
      if (m[z + Z_NR_ISOLATE] !== 0) return `nr_isolate_pageblock is ${m[z + Z_NR_ISOLATE]}`;
      for (let o = 0; o < maxOrderOf(m, z); o++) {
        if (!list_empty_head(m, z, freeListHead(m, z, o, MIGRATE_ISOLATE))) return `free_list[${o}][Isolate] is not empty`;
      }
      return null;
    },
  };

  const wholeOrNothing: EndProperty = {
    name: 'range-whole-or-nothing',
    kind: 'termination',
    scope: 'end',
    rule: 'alloc_contig_range(start, end) that returns 0 holds exactly the pages [start, end); one that fails holds none.',
    source: 'mm/page_alloc.c alloc_contig_range() (v5.19): "Free head and tail (if any)"; on failure every isolated free page is given back (isolate_freepages_range(): release_freepages()).',
    check(m) {
      for (let k = 0; k < lay.contigs; k++) {
        const a = lay.contigActor(k);
        const [start, end] = lay.range(k);
        const res = m[lay.result(k)];
        for (let pfn = 0; pfn < lay.npages; pfn++) {
          const mine = owner(m, pfn) === a;
          const want = res === RESULT_OK && pfn >= start && pfn < end;
          if (mine && !want) return `contig${k} (${res === RESULT_OK ? 'returned 0' : 'failed'}) holds pfn ${pfn}, outside what it returned`;
          if (!mine && want) return `contig${k} returned 0 but does not hold pfn ${pfn} of [${start}, ${end})`;
        }
      }
      return null;
    },
  };

  const accounted: EndProperty = {
    name: 'pages-accounted',
    kind: 'termination',
    scope: 'end',
    rule: 'At the end every page is free (on the buddy lists or a CPU\'s per-cpu list) or held by exactly the CPU or allocation that was given it; none is lost.',
    source: 'mm/page_alloc.c: every page is in the buddy allocator or owned by whoever allocated it.',
    check(m) {
      const free = new Uint8Array(lay.npages);
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        if (PageBuddy(m, pfn)) for (let i = 0; i < 1 << buddy_order(m, pfn); i++) free[pfn + i] = 1;
      }
      for (const p of pcpPages(m, z)) for (let i = 0; i < 1 << p.order; i++) free[p.pfn + i] = 1;
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        if (!free[pfn] && owner(m, pfn) < 0) return `pfn ${pfn} is neither free nor held by anyone (leaked)`;
      }
      for (let c = 0; c < lay.cpus; c++) {
        const p = m[lay.slots + c];
        if (p !== NO_PAGE && owner(m, p) !== c) return `cpu${c} holds pfn ${p}, which is not its own`;
      }
      return null;
    },
  };

  const quietSucceeds: EndProperty = {
    name: 'quiet-alloc-succeeds',
    kind: 'termination',
    scope: 'end',
    rule: 'On a quiet zone (nothing else allocates, frees or isolates) alloc_contig_range() of free pages succeeds. Checked only at --cpus 0 --contigs 1.',
    source: 'The seed: alloc_contig_range() "worked at MAX_ORDER-1 granularity"; after the patch it works at pageblock granularity, so a free range of any pageblock alignment can be allocated.',
    check(m) {
      if (!m[lay.quiet]) return null;
      for (let k = 0; k < lay.contigs; k++) {
        if (m[lay.result(k)] === RESULT_FAILED) return `contig${k} failed on a quiet zone`;
      }
      return null;
    },
  };

  return [freeLists, ...(exact ? [nrFreeExact] : []), notHandedOut, isolateListsAgree, undoRestores, wholeOrNothing, accounted, quietSucceeds];
}
