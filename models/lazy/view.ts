/** How the lazy system's pages and swap show in traces (the v3.3 struct page of src/kernel/mapped-v3). */
import type { ListSpace } from '../../src/kernel/list.ts';
import { NO_PAGE, REASON_NAMES, type MappedLayout } from '../../src/kernel/mapped-v3/layout.ts';
import {
  F_DATA, F_INDEX, F_MAPPING, F_PRIVATE, PG_dirty, PG_locked, PG_lru, PG_swapbacked, PG_swapcache, PG_uptodate, PG_writeback,
  PageBuddy, flagsOf, page_count, page_mapcount, pageAt,
} from '../../src/kernel/mapped-v3/page.ts';

const FLAGS: [number, string][] = [[PG_locked, 'locked'], [PG_uptodate, 'uptodate'], [PG_dirty, 'dirty'], [PG_lru, 'lru'], [PG_writeback, 'writeback'], [PG_swapcache, 'swapcache'], [PG_swapbacked, 'swapbacked']];

export function describeMappedPage(m: Uint8Array, lay: MappedLayout, p: number, headOf: (m: Uint8Array, S: ListSpace, node: number) => number): string {
  const head = lay.S.name(headOf(m, lay.S, p + 1));
  if (PageBuddy(m, p)) return `free (${head})`;
  const f = flagsOf(m, p);
  const flags = FLAGS.filter(([b]) => f & b).map(([, n]) => n).join('|') || '0';
  const anon = m[pageAt(p, F_MAPPING)] ? `anon v${m[pageAt(p, F_INDEX)]}` : 'no mapping';
  const priv = m[pageAt(p, F_PRIVATE)] ? ` swap slot ${m[pageAt(p, F_PRIVATE)] - 1}` : '';
  return `${flags} count ${page_count(m, p)} mapcount ${page_mapcount(m, p)} ${anon}${priv} list ${head} data v${m[pageAt(p, F_DATA)]}`;
}

export function describeSwap(m: Uint8Array, lay: MappedLayout): string {
  const parts: string[] = [];
  for (let s = 0; s < lay.vpages; s++) {
    const c = m[lay.swapCache(s)];
    parts.push(`slot ${s}: map ${m[lay.swapMap(s)] & 0x3f}${m[lay.swapMap(s)] & 0x40 ? '+cache' : ''} cache ${c === NO_PAGE ? '-' : `p${c}`} data v${m[lay.swapData(s)]}`);
  }
  for (let c = 0; c < lay.cpus; c++) {
    const n = m[lay.pv(c)];
    if (n) parts.push(`cpu${c} pagevec [${Array.from({ length: n }, (_, i) => `p${m[lay.pv(c) + 1 + i]}`).join(' ')}]`);
  }
  for (let v = 0; v < lay.vpages; v++) {
    parts.push(`v${v}: version ${m[lay.version(v)]}${m[lay.reason(v)] ? `, reason: ${REASON_NAMES[m[lay.reason(v)]]}` : ''}${m[lay.lazied(v)] ? ', lazily unmapped' : ''}`);
  }
  return parts.join('; ');
}
