/**
 * Properties of zsmalloc page migration (kernel v4.8, the seed's patches 04-12). The
 * generic non-LRU movable page rules are nonlru's, over the class lock; zsmalloc adds
 * the zspage's isolated count, the validity of every handle, and its end state.
 */
import {
  F_FLAGS, F_MAPPING, F_PRIVATE, F_REF, F_TYPE, PAGE_MAPPING_MOVABLE, PAGE_STRIDE, PG_isolated, PG_locked, PG_private,
  TYPE_BUDDY,
} from '../src/kernel/page.ts';
import {
  H_LOC, H_PIN, HANDLE_BYTES, NO_PFN, ZS_ALIVE, ZS_INUSE, ZS_ISOLATED, ZS_ONLIST, ZS_PAGE0, ZS_PAGES, ZS_READERS, ZS_WRITER,
  ZSPAGE_BYTES, type ZsPool,
} from '../src/kernel/zsmalloc.ts';
import type { EndProperty, Property, StateInvariant } from '../src/system.ts';
import { type NonlruLayout, nonlruProperties } from './nonlru.ts';

export interface ZsLayout extends NonlruLayout {
  readonly zspages: number;
  readonly objects: number;
  readonly pool: ZsPool;
  /** Ghost: actors (CPUs, the zram user) still at work; the free worker may stop at zero. */
  readonly running: number;
  readonly worldSize: number;
}

const pageByte = (m: Uint8Array, pfn: number, f: number) => m[pfn * PAGE_STRIDE + f];

export function zsmallocProperties(lay: ZsLayout): Property[] {
  const generic = nonlruProperties(lay).filter((p) => p.name !== 'pages-accounted');
  const pool = lay.pool;
  const zs = (z: number) => pool.zspage0 + z * ZSPAGE_BYTES;
  const h = (o: number) => pool.handle0 + o * HANDLE_BYTES;

  const isolatedCount: StateInvariant = {
    name: 'zspage-isolated-count',
    kind: 'invariant',
    scope: 'state',
    rule: 'zspage->isolated counts exactly the zspage\'s subpages the VM holds isolated, so that the zspage goes back to its class (and may be freed) only when its last isolated subpage comes back.',
    source: 'Seed patch 11 "zsmalloc: page migration support": "We could try to isolate a zspage by the number of subpage so subsequent isolation trial of other subpage of the zpsage shouldn\'t fail. For that, we introduce zspage.isolated count."; mm/zsmalloc.c inc/dec_zspage_isolation (v4.8).',
    check(m) {
      for (let z = 0; z < lay.zspages; z++) {
        if (!m[zs(z) + ZS_ALIVE]) continue;
        let n = 0;
        for (let i = 0; i < ZS_PAGES; i++) {
          const pfn = m[zs(z) + ZS_PAGE0 + i];
          if (pfn !== NO_PFN && pageByte(m, pfn, F_FLAGS) & PG_isolated) n++;
        }
        if (m[zs(z) + ZS_ISOLATED] !== n) return `zspage ${z}: isolated is ${m[zs(z) + ZS_ISOLATED]} but ${n} of its subpages are isolated`;
      }
      return null;
    },
  };

  const handleValid: StateInvariant = {
    name: 'handle-valid',
    kind: 'invariant',
    scope: 'state',
    rule: 'Every allocated object\'s handle points into a live zspage: a page of its chain whose page->private is that zspage.',
    source: 'mm/zsmalloc.c (v4.8): record_obj / obj_to_location / get_zspage ("BUG_ON(zspage->magic != ZSPAGE_MAGIC)"); zs_page_migrate moves every object of the page before reset_page.',
    check(m) {
      for (let o = 0; o < lay.objects; o++) {
        const pfn = m[h(o) + H_LOC];
        if (pfn === NO_PFN) continue;
        const id = pageByte(m, pfn, F_PRIVATE);
        if (id === 0 || !m[zs(id - 1) + ZS_ALIVE]) return `object ${o} lives in pfn ${pfn}, which belongs to no live zspage`;
        let inChain = false;
        for (let i = 0; i < ZS_PAGES; i++) if (m[zs(id - 1) + ZS_PAGE0 + i] === pfn) inChain = true;
        if (!inChain) return `object ${o} lives in pfn ${pfn}, which is not in zspage ${id - 1}'s chain`;
      }
      return null;
    },
  };

  const movable = (lay.mapping << 2) | PAGE_MAPPING_MOVABLE;
  const accounted: EndProperty = {
    name: 'zspages-accounted',
    kind: 'termination',
    scope: 'end',
    rule: 'When everyone has finished, every page is free or a subpage of a live zspage (movable with the pool\'s mapping, page->private set, PG_private on the first page only, not isolated, unlocked, one reference), every live zspage holds objects, is on its class\'s lists, is not isolated and its migrate lock is free, and no handle is pinned.',
    source: 'mm/zsmalloc.c (v4.8): free_zspage / async_free_zspage free every empty zspage; zs_page_putback and zs_page_migrate give isolated zspages back (putback_zspage); compaction releases its unused targets.',
    check(m) {
      const owner = new Map<number, number>();
      for (let z = 0; z < lay.zspages; z++) {
        if (!m[zs(z) + ZS_ALIVE]) continue;
        let objs = 0;
        for (let o = 0; o < lay.objects; o++) {
          const pfn = m[h(o) + H_LOC];
          if (pfn !== NO_PFN && pageByte(m, pfn, F_PRIVATE) === z + 1) objs++;
        }
        if (m[zs(z) + ZS_INUSE] !== objs) return `zspage ${z}: inuse ${m[zs(z) + ZS_INUSE]} but ${objs} object(s)`;
        if (objs === 0) return `zspage ${z} is empty but was never freed`;
        if (m[zs(z) + ZS_ONLIST] !== 1) return `zspage ${z} is on none of its class's lists`;
        if (m[zs(z) + ZS_ISOLATED] !== 0) return `zspage ${z} is still counted isolated`;
        if (m[zs(z) + ZS_READERS] !== 0) return `zspage ${z}'s migrate lock is still read-held`;
        if (m[zs(z) + ZS_WRITER] !== 0) return `zspage ${z}'s migrate lock is still write-held`;
        for (let i = 0; i < ZS_PAGES; i++) owner.set(m[zs(z) + ZS_PAGE0 + i], i);
      }
      for (let pfn = 0; pfn < lay.npages; pfn++) {
        const i = owner.get(pfn);
        if (i === undefined) {
          if (pageByte(m, pfn, F_TYPE) !== TYPE_BUDDY) return `pfn ${pfn} is neither free nor a zspage's (leaked)`;
          continue;
        }
        const flags = pageByte(m, pfn, F_FLAGS);
        const problems: string[] = [];
        if (pageByte(m, pfn, F_MAPPING) !== movable) problems.push('not movable');
        if (!!(flags & PG_private) !== (i === 0)) problems.push(i === 0 ? 'first page without PG_private' : 'PG_private on a subpage that is not first');
        if (flags & PG_isolated) problems.push('still isolated');
        if (flags & PG_locked) problems.push('still locked');
        const ref = (pageByte(m, pfn, F_REF) << 24) >> 24;
        if (ref !== 1) problems.push(`refcount ${ref}, zsmalloc expects 1`);
        if (problems.length) return `pfn ${pfn}: ${problems.join(', ')}`;
      }
      for (let o = 0; o < lay.objects; o++) if (m[h(o) + H_PIN]) return `object ${o}'s handle is still pinned`;
      if (m[pool.classLock] !== 0) return 'class->lock is still held';
      return null;
    },
  };

  return [...generic, isolatedCount, handleValid, accounted];
}
