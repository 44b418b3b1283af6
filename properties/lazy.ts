/**
 * Properties of lazy migration (seed 001: mbind(MPOL_MF_MOVE | MPOL_MF_LAZY) and
 * migrate-on-fault, v3.3), each with the rule it enforces and where it comes from.
 * They read the packed world through the MappedLayout and know nothing of the
 * machines, so a variant is caught only by what it does.
 */
import { headOf } from '../src/kernel/list.ts';
import {
  FREE_HEAD, LRU_HEAD, NO_PAGE, POLICY_MOF, PTE_MIGRATION, PTE_PRESENT, PTE_SWAP, SWAP_HAS_CACHE,
  lruNode, pteArg, pteType, type MappedLayout,
} from '../src/kernel/mapped-v3/layout.ts';
import { pagevecPages } from '../src/kernel/mapped-v3/lru.ts';
import {
  F_DATA, F_INDEX, PG_locked, PG_lru, PG_writeback, PageBuddy, PageSwapCache, flagsOf, page_count, page_mapcount, pageAt,
} from '../src/kernel/mapped-v3/page.ts';
import type { EndProperty, Property, StateInvariant } from '../src/system.ts';

/** The page a virtual page's data lives in now (its PTE's page, or its swap cache page), or NO_PAGE for the swap slot. */
function dataHolder(m: Uint8Array, lay: MappedLayout, v: number): { page: number; slot: number } {
  const pte = m[lay.pte(v)];
  const t = pteType(pte);
  if (t === PTE_PRESENT || t === PTE_MIGRATION) return { page: pteArg(pte), slot: -1 };
  if (t === PTE_SWAP) {
    const s = pteArg(pte);
    return { page: m[lay.swapCache(s)], slot: s };
  }
  return { page: NO_PAGE, slot: -1 };
}

export function lazyProperties(lay: MappedLayout): Property[] {
  const noMappedFree: StateInvariant = {
    name: 'no-mapped-free-page',
    kind: 'invariant',
    scope: 'state',
    rule: 'No PTE, migration entry or swap cache slot points at a page after it is freed.',
    source: 'mm/page_alloc.c free_pages_check() (v3.3): a page is freed only with no mapping and no reference; a PTE holds a reference (mm/memory.c do_swap_page(), mm/rmap.c try_to_unmap_one()), the swap cache holds one (mm/swap_state.c __add_to_swap_cache()).',
    check(m) {
      for (let v = 0; v < lay.vpages; v++) {
        const pte = m[lay.pte(v)];
        const t = pteType(pte);
        if ((t === PTE_PRESENT || t === PTE_MIGRATION) && PageBuddy(m, pteArg(pte))) return `the PTE of virtual page ${v} points at pfn ${pteArg(pte)}, which is free`;
      }
      for (let s = 0; s < lay.vpages; s++) {
        const p = m[lay.swapCache(s)];
        if (p !== NO_PAGE && PageBuddy(m, p)) return `swap cache slot ${s} holds pfn ${p}, which is free`;
      }
      return null;
    },
  };

  const dataNotLost: StateInvariant = {
    name: 'pte-maps-the-data',
    kind: 'invariant',
    scope: 'state',
    rule: 'Every virtual page\'s latest write is where its PTE leads: the page a PTE or migration entry names, else the swap cache page of its swap entry, else the swap slot; no PTE points at a page that is not the one holding the data.',
    source: 'mm/migrate.c migrate_page_copy() and mm/vmscan.c pageout() move data only from a page no PTE maps (try_to_unmap() first); mm/memory.c do_swap_page() maps the swap cache page only while pte_same() holds. A ghost version per virtual page, bumped by every write, shows a lost write.',
    check(m) {
      for (let v = 0; v < lay.vpages; v++) {
        const want = m[lay.version(v)];
        const { page, slot } = dataHolder(m, lay, v);
        if (page !== NO_PAGE) {
          if (m[pageAt(page, F_DATA)] !== want) return `virtual page ${v}: its PTE leads to pfn ${page}, which holds version ${m[pageAt(page, F_DATA)]}, not the latest write ${want}`;
        } else if (slot >= 0 && m[lay.swapData(slot)] !== want) {
          return `virtual page ${v}: its swap slot ${slot} holds version ${m[lay.swapData(slot)]}, not the latest write ${want}`;
        }
      }
      return null;
    },
  };

  const mapcountMatches: StateInvariant = {
    name: 'mapcount-matches-ptes',
    kind: 'invariant',
    scope: 'state',
    rule: 'page_mapcount(page) is the number of present PTEs that map the page.',
    source: 'mm/rmap.c page_add_anon_rmap() / page_remove_rmap() (v3.3), called under the page table lock with every PTE change.',
    check(m) {
      const mapped = new Uint8Array(lay.npages);
      for (let v = 0; v < lay.vpages; v++) if (pteType(m[lay.pte(v)]) === PTE_PRESENT) mapped[pteArg(m[lay.pte(v)])]++;
      for (let p = 0; p < lay.npages; p++) {
        if (PageBuddy(m, p)) continue;
        if (page_mapcount(m, p) !== mapped[p]) return `pfn ${p} has mapcount ${page_mapcount(m, p)} but ${mapped[p]} PTE(s) map it`;
      }
      return null;
    },
  };

  const drained: StateInvariant = {
    name: 'lazy-pages-findable',
    kind: 'invariant',
    scope: 'state',
    rule: 'When mbind() returns, no page it lazily unmapped waits in its CPU\'s LRU add pagevec: the fault path must find it on the LRU to migrate it.',
    source: 'Seed 001, migrate_pages_unmap_only(): "Drain local per cpu pagevecs so fault path can find the the pages on the lru." (if (nr_unmapped) lru_add_drain()).',
    check(m) {
      if (!m[lay.mbindDone]) return null;
      for (const p of pagevecPages(m, lay, 0)) {
        const v = m[pageAt(p, F_INDEX)];
        if (v < lay.vpages && m[lay.lazied(v)]) return `mbind() returned with pfn ${p} (virtual page ${v}, lazily unmapped) still in CPU 0's pagevec`;
      }
      return null;
    },
  };

  const placement: EndProperty = {
    name: 'touched-page-placed',
    kind: 'termination',
    scope: 'end',
    rule: 'Every page mapped at the end (touched after the lazy unmap, or never unmapped) is on the node its VMA policy names, or a named reason says why not (mbind could not isolate or unmap it, or the fault could not allocate, isolate or move it).',
    source: 'Seed 001: "The pages will be migrated in the fault path on \'first touch\', if the policy dictates at that time"; the reasons are the give-up branches of check_range(), migrate_pages_unmap_only() and migrate_misplaced_page().',
    check(m) {
      const pol = m[lay.policy];
      if (!(pol & POLICY_MOF)) return null;
      for (let v = 0; v < lay.vpages; v++) {
        const pte = m[lay.pte(v)];
        if (pteType(pte) !== PTE_PRESENT) continue;
        const p = pteArg(pte);
        if (lay.nid(p) !== (pol & 0xf) && m[lay.reason(v)] === 0) return `virtual page ${v} is mapped from pfn ${p} on node ${lay.nid(p)}, not node ${pol & 0xf}, and no reason is named`;
      }
      return null;
    },
  };

  const refcounts: EndProperty = {
    name: 'refcounts-balance',
    kind: 'termination',
    scope: 'end',
    rule: 'At the end every page\'s _count is its PTEs + its swap cache reference + its pagevec entries, a free page has none, and every swap slot\'s count is its swap PTEs plus SWAP_HAS_CACHE for a cached page.',
    source: 'mm/swap.c, mm/swap_state.c, mm/swapfile.c (v3.3): get_page/put_page pair at each holder; swap_duplicate()/swap_free() and SWAP_HAS_CACHE.',
    check(m) {
      const inPv = new Uint8Array(lay.npages);
      for (let c = 0; c < lay.cpus; c++) for (const p of pagevecPages(m, lay, c)) inPv[p]++;
      for (let p = 0; p < lay.npages; p++) {
        if (PageBuddy(m, p)) {
          if (page_count(m, p) !== 0) return `free pfn ${p} has _count ${page_count(m, p)}`;
          continue;
        }
        const want = page_mapcount(m, p) + (PageSwapCache(m, p) ? 1 : 0) + inPv[p];
        if (page_count(m, p) !== want) return `pfn ${p} has _count ${page_count(m, p)}, but ${want} holder(s): mapcount ${page_mapcount(m, p)}, swap cache ${PageSwapCache(m, p) ? 1 : 0}, pagevecs ${inPv[p]}`;
      }
      for (let s = 0; s < lay.vpages; s++) {
        let ptes = 0;
        for (let v = 0; v < lay.vpages; v++) if (m[lay.pte(v)] === (PTE_SWAP | s)) ptes++;
        const want = ptes | (m[lay.swapCache(s)] !== NO_PAGE ? SWAP_HAS_CACHE : 0);
        if (m[lay.swapMap(s)] !== want) return `swap slot ${s} has swap_map ${m[lay.swapMap(s)]}, expected ${want}`;
      }
      return null;
    },
  };

  const accounted: EndProperty = {
    name: 'pages-accounted',
    kind: 'termination',
    scope: 'end',
    rule: 'At the end no page is locked or isolated: every page in use is on its node\'s LRU (PG_lru) or in a CPU\'s pagevec, every free page on its node\'s free list, and no migration entry is left.',
    source: 'mm/vmscan.c putback_lru_page() / isolate_lru_page() (v3.3): an isolated page is always put back; include/linux/swapops.h: a migration entry lives only while migration holds the page lock.',
    check(m) {
      const inPv = new Uint8Array(lay.npages);
      for (let c = 0; c < lay.cpus; c++) for (const p of pagevecPages(m, lay, c)) inPv[p]++;
      for (let p = 0; p < lay.npages; p++) {
        const head = headOf(m, lay.S, lruNode(p));
        if (PageBuddy(m, p)) {
          if (head !== FREE_HEAD(lay.nid(p))) return `free pfn ${p} is not on node ${lay.nid(p)}'s free list`;
          continue;
        }
        if (flagsOf(m, p) & PG_locked) return `pfn ${p} is still locked`;
        if (flagsOf(m, p) & PG_writeback) return `pfn ${p} is still under writeback`;
        const onLru = (flagsOf(m, p) & PG_lru) !== 0;
        if (onLru !== (head === LRU_HEAD(lay.nid(p)))) return `pfn ${p}: PG_lru ${onLru ? 'set' : 'clear'} but ${head === LRU_HEAD(lay.nid(p)) ? 'on' : 'off'} its LRU`;
        if (!onLru && !inPv[p]) return `pfn ${p} is in use but neither on an LRU nor in a pagevec (isolated and never put back)`;
      }
      for (let v = 0; v < lay.vpages; v++) if (pteType(m[lay.pte(v)]) === PTE_MIGRATION) return `virtual page ${v} is left with a migration entry`;
      return null;
    },
  };

  return [noMappedFree, dataNotLost, mapcountMatches, drained, placement, refcounts, accounted];
}
