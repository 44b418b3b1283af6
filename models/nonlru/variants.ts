/**
 * Known bugs of the non-LRU movable page protocol, each put back into otherwise
 * correct code. A variant changes code only; exploration has to find what it breaks.
 */
import { VM_BUG_ON_PAGE } from '../../src/kernel/bug.ts';
import {
  PAGE_MAPPING_MOVABLE, PageIsolated, PageLocked, mappingWord, pageNode, setMappingWord,
} from '../../src/kernel/page.ts';
import { list_add, list_del, spaceOf } from '../../src/kernel/list.ts';
import { PageMovable } from '../../src/kernel/movable.ts';
import {
  getPageUnlessZero, lockPage, notMovableHint, pageUnlocked, refZero, unlockPage,
} from '../../src/kernel/migrate.ts';
import { type ActionFn, type GuardFn, type ProgramBuilder, STEP, br } from '../../src/kernel/program.ts';
import type { Variant } from '../../src/system.ts';
import { NO_PAGE, type NonlruLayout } from '../../properties/nonlru.ts';
import { CLEAR_MOVABLE } from './driver.ts';

export interface Patch {
  /** Which programs to patch: every CPU's, or the driver's. */
  readonly cpu?: (b: ProgramBuilder, cpu: number, lay: NonlruLayout) => void;
  readonly driver?: (b: ProgramBuilder, lay: NonlruLayout) => void;
}

const ISO = 'scan/isolate';

/** isolate_movable_page() without `|| PageIsolated(page)`. */
const cannotIsolateNoIsolatedTest: GuardFn = (m, L, P) => !PageMovable(m, m[L + P.page]);

/** __ClearPageMovable() clearing every low bit: page->mapping = NULL. */
const clearMovableAllBits: ActionFn = (m, L, P) => {
  const p = m[L + P.page];
  VM_BUG_ON_PAGE(!PageLocked(m, p), '!PageLocked(page)', '__ClearPageMovable', p);
  VM_BUG_ON_PAGE(!PageMovable(m, p), '!PageMovable(page)', '__ClearPageMovable', p);
  setMappingWord(m, p, 0);
};
/** __ClearPageMovable() as Vlastimil Babka read it: `& ~PAGE_MAPPING_MOVABLE`. */
const clearMovableNegated: ActionFn = (m, L, P) => {
  const p = m[L + P.page];
  VM_BUG_ON_PAGE(!PageLocked(m, p), '!PageLocked(page)', '__ClearPageMovable', p);
  VM_BUG_ON_PAGE(!PageMovable(m, p), '!PageMovable(page)', '__ClearPageMovable', p);
  setMappingWord(m, p, mappingWord(m, p) & ~PAGE_MAPPING_MOVABLE);
};

/** The release path's bookkeeping without the PageIsolated test: list_del regardless. */
const forgetPageTouchingLru: ActionFn = (m, L, P) => {
  const p = m[L + P.p];
  m[P.slots + m[L + P.k]] = NO_PAGE;
  if (PageIsolated(m, p)) m[P.isolated]--;
  list_del(m, spaceOf(P.ls), pageNode(p));
};

/** The driver's putback_page without `isolated--`: back on the list, still counted isolated. */
const putbackForgetsCount: ActionFn = (m, L, P) => list_add(m, spaceOf(P.ls), pageNode(m[L + P.page]), P.list);

const slotOf = (b: ProgramBuilder, name: string): number => {
  const at = b.locals.indexOf(name);
  if (at < 0) throw new Error(`program ${b.id} has no local '${name}'`);
  return at;
};

/** Swap __ClearPageMovable in every program that calls it. */
const everywhere = (fn: ActionFn): Patch => ({
  cpu: (b) => b.replaceAction(CLEAR_MOVABLE, fn),
  driver: (b) => b.replaceAction(CLEAR_MOVABLE, fn),
});

export const NONLRU_VARIANTS: readonly (Variant & { patch: Patch })[] = [
  {
    name: 'no-isolated-check',
    description: 'isolate_movable_page() does not test PageIsolated under the page lock, so a second CPU isolates a page that is already isolated.',
    source: 'Seed patch 02, isolate_movable_page(): "if (!PageMovable(page) || PageIsolated(page)) goto out_no_isolated"; changelog v2: "check PageMovable before PageIsolated checking - Joonsoo".',
    expect: { kind: 'invariant', property: 'no-double-isolation' },
    patch: {
      cpu(b) {
        const node = b.nodes[`${ISO}/check`];
        const [first, ...rest] = node.on[STEP];
        const guard = b.g('!PageMovable(page) (no PageIsolated test)', cannotIsolateNoIsolatedTest, first.guard!.params);
        b.replace(`${ISO}/check`, { ...node.on, [STEP]: [{ ...first, guard }, ...rest] }, '!PageMovable(page); a_ops->isolate_page(page); ...');
      },
    },
  },
  {
    name: 'clear-movable-all-bits',
    description: '__ClearPageMovable() clears PAGE_MAPPING_MOVABLE too (page->mapping = NULL), so the VM can no longer tell a page the driver released from an LRU page.',
    source: 'Seed patch 02, __ClearPageMovable(): keeps PAGE_MAPPING_MOVABLE "so that VM can catch up released page by driver after isolation" (Minchan Kim\'s v6r2 reply to Vlastimil Babka).',
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: everywhere(clearMovableAllBits),
  },
  {
    name: 'clear-movable-negated',
    description: '__ClearPageMovable() does `page->mapping & ~PAGE_MAPPING_MOVABLE`, as review suggested: the address_space stays and the movable bit goes.',
    source: 'Vlastimil Babka on seed v6 02/12: "This should be negated to clear... use ~PAGE_MAPPING_MOVABLE ?"; Minchan Kim kept `& PAGE_MAPPING_MOVABLE` in v6r2.',
    expect: { kind: 'invariant', property: 'page-lifecycle' },
    patch: everywhere(clearMovableNegated),
  },
  {
    name: 'lock-before-refcount',
    description: 'isolate_movable_page() takes the page lock before get_page_unless_zero() and the __PageMovable() test: it can lock a page it holds no reference to, which is then freed while locked, and it races with an owner that sets flags on a page it has just allocated with a non-atomic read-modify-write.',
    source: 'Seed patch 02, isolate_movable_page(): "Check PageMovable before holding a PG_lock because page\'s owner assumes anybody doesn\'t touch PG_lock of newly allocated page"; changelog v2: "check PageMovable before lock_page - Joonsoo".',
    expect: { kind: 'kernel-bug', property: 'bad_page(): PAGE_FLAGS_CHECK_AT_FREE flag(s) set' },
    patch: {
      cpu(b) {
        const p = { page: slotOf(b, 'low_pfn') };
        // trylock_page first ...
        b.replace(ISO, {
          [STEP]: [
            br(`${ISO}/bug-get`, [b.a('trylock_page', lockPage, p)], b.g('!PageLocked(page)', pageUnlocked, p)),
            br('scan/next'),
          ],
        }, 'trylock_page(page)');
        // ... then get_page_unless_zero and __PageMovable, and on to the checks.
        b.step(`${ISO}/bug-get`, 'isolate_movable_page', 'get_page_unless_zero(page); __PageMovable(page)', {
          [STEP]: [
            br('scan/next', [b.a('unlock_page', unlockPage, p)], b.g('page_ref_count == 0', refZero, p)),
            br('scan/next', [b.a('unlock_page', unlockPage, p)], b.g('!__PageMovable(page)', notMovableHint, p)),
            br(`${ISO}/check`, [b.a('get_page_unless_zero', getPageUnlessZero, p)]),
          ],
        });
      },
    },
  },
  {
    name: 'driver-touches-isolated-lru',
    description: 'The driver\'s release path does list_del(&page->lru) on a page the VM has isolated, unlinking it from the CPU\'s private migrate list.',
    source: 'Seed patch 03, balloon_page_delete(): "No touch page.lru field once @page has been isolated because VM is using the field. if (!PageIsolated(page)) list_del(&page->lru);"',
    expect: { kind: 'invariant', property: 'isolated-lru-untouched' },
    patch: { driver: (b) => b.replaceAction('forget page', forgetPageTouchingLru) },
  },
  {
    name: 'putback-forgets-isolated-count',
    description: 'The driver\'s putback_page puts the page back on its list but does not take it out of its isolated count, so the page stays counted as isolated after the VM gave it back.',
    source: 'Seed patch 03, balloon_page_putback(): "list_add(&page->lru, &b_dev_info->pages); b_dev_info->isolated_pages--;" under pages_lock; Documentation/vm/page_migration: "driver should put the isolated page back to the own data structure". A driver-side mistake of the kind the contract warns against, not a kernel commit.',
    expect: { kind: 'termination', property: 'pages-accounted' },
    // putback_page runs in the CPU's context, so it is the CPUs' programs that call it.
    patch: { cpu: (b) => b.replaceAction('driver putback_page', putbackForgetsCount) },
  },
  {
    name: 'putback-without-lock',
    description: 'The VM calls the driver\'s putback_page without the page lock, racing with the driver\'s release.',
    source: 'Seed patch 02, putback_movable_pages(): "lock_page(page); if (PageMovable(page)) putback_movable_page(page); ..." and Documentation/filesystems/Locking: "putback_page: yes" (called with the page locked).',
    expect: { kind: 'kernel-bug', property: 'VM_BUG_ON_PAGE(!PageLocked(page))' },
    patch: {
      cpu(b) {
        for (const at of ['putback/locked', 'migrate/uam/putback']) {
          // Straight to the body, and the body without its lock and unlock.
          b.replace(at, { [STEP]: [br(`${at}/body`)] }, 'no lock_page(page)');
          const body = b.nodes[`${at}/body`];
          const on = Object.fromEntries(Object.entries(body.on).map(([ev, brs]) => [
            ev, brs.map((x) => ({ ...x, actions: x.actions.filter((a) => a.type !== 'unlock_page') })),
          ]));
          b.replace(`${at}/body`, on, 'PageMovable(page) ? putback_movable_page(page) : __ClearPageIsolated(page), no page lock');
        }
      },
    },
  },
  {
    name: 'freed-under-us-stays-isolated',
    description: 'unmap_and_move() frees a page the driver released while it was isolated without first clearing PG_isolated.',
    source: 'Seed patch 02, unmap_and_move(): the hunk "if (unlikely(__PageMovable(page))) { lock_page(page); if (!PageMovable(page)) __ClearPageIsolated(page); unlock_page(page); }" in the "page was freed from under us" path.',
    expect: { kind: 'invariant', property: 'freed-page-clean' },
    patch: {
      cpu(b) {
        const at = 'migrate/uam/freed';
        const node = b.nodes[at];
        const [notMovable] = node.on[STEP];
        // Every page takes the "not movable" way out: no lock, no __ClearPageIsolated.
        b.replace(at, { [STEP]: [{ target: notMovable.target, actions: notMovable.actions }] }, 'compaction_free(newpage); rc = MIGRATEPAGE_SUCCESS');
      },
    },
  },
];
