/** The lazy system's world: the mapped-page layout at a scope, and its initial state. */
import { initialMappedWorld, mappedLayout, type MappedLayout } from '../../src/kernel/mapped-v3/layout.ts';

export type { MappedLayout };

/**
 * Node 1 has a free page per virtual page, plus one per extra thread: two threads
 * faulting the same page may each allocate before one of them backs off. Node 0 has
 * a free page for compaction to migrate to when it runs. CPUs: the mbind task's,
 * the threads', then compaction's (kswapd uses no pagevec).
 */
export function fromLayout(pages: number, touchers: number, compaction: number): { lay: MappedLayout; world: Uint8Array } {
  const lay = mappedLayout(pages, compaction ? 1 : 0, pages + touchers - 1, 1 + touchers + (compaction ? 1 : 0));
  return { lay, world: initialMappedWorld(lay) };
}
