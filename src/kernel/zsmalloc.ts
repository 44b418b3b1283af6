/**
 * mm/zsmalloc.c at kernel v4.8 (the seed's patches 04-12, "zsmalloc: page migration
 * support" and the refactoring before it), at the granularity where its races with
 * page migration live: one size class with its spinlock, zspages of two pages with a
 * first page, one or two objects per page (ZsPool.perPage), the zspage's isolated
 * count and migrate rwlock, handles with their pin bit, zs_malloc / zs_free,
 * free_zspage / __free_zspage / reset_page, the deferred free worker, and
 * zs_page_isolate / zs_page_migrate / zs_page_putback as the pool inode's a_ops
 * (zs_page_migrate and zs_free as programs of steps, split where another CPU can
 * come in: issue 9 item 4).
 *
 * What is left out: fullness groups are one "on a class list" mark (0 none, 1 a
 * fullness list, 2 the free worker's private list); object contents and the free
 * object chain (the slot an object takes is the first free one); huge objects;
 * zs_map_object (whose pin-vs-migrate race the pin bit still shows through zs_free).
 */
import { BUG_ON, KernelBug, VM_BUG_ON_PAGE, WARN_ON } from './bug.ts';
import {
  F_PRIVATE, PAGE_STRIDE, PG_private, PageIsolated, PageLocked, alloc_page, clearFlag, get_page, put_page, setFlag,
  spin_lock, spin_unlock, spinIsFree, trylock_page, unlock_page,
} from './page.ts';
import { PageMovable, __ClearPageMovable, __SetPageMovable } from './movable.ts';
import { type CallbackProgram, EAGAIN, EBUSY, RC_SUCCESS, type MovableOps } from './migrate.ts';
import { type ActionFn, type GuardFn, type Params, type ProgramBuilder, STEP, br } from './program.ts';

/** class->pages_per_zspage and class->objs_per_zspage of the modelled size class. */
export const ZS_PAGES = 2;

/** struct zspage fields, bytes from the zspage's offset. */
export const ZS_INUSE = 0;
export const ZS_ISOLATED = 1;
/** 0: list_empty(&zspage->list); 1: on a fullness list of the class; 2: on async_free_zspage's own list. */
export const ZS_ONLIST = 2;
/** zspage->magic == ZSPAGE_MAGIC: allocated and not yet given back by cache_free_zspage. */
export const ZS_ALIVE = 3;
/** zspage->lock (the migrate rwlock): number of readers (zs_free between migrate_read_lock and migrate_read_unlock). */
export const ZS_READERS = 4;
/** zspage->lock's writer: 0, or the actor index + 1 of the zs_page_migrate() that holds it. */
export const ZS_WRITER = 5;
/** The page chain: pfn of subpage 0 (the first page) and subpage 1. */
export const ZS_PAGE0 = 6;
export const ZSPAGE_BYTES = ZS_PAGE0 + ZS_PAGES;
/** Handle fields: the object's page (OBJ location; NO_PFN when the object is free) and HANDLE_PIN_BIT. */
export const H_LOC = 0;
export const H_PIN = 1;
export const HANDLE_BYTES = 2;
export const NO_PFN = 0xff;

/** Where a zs_pool with one size class lives in the packed world; every field is a byte offset or a count. */
export interface ZsPool {
  readonly mapping: number;
  readonly classLock: number;
  readonly zspage0: number;
  readonly nzspages: number;
  readonly handle0: number;
  readonly nobjects: number;
  /** Objects per page (class->size divides PAGE_SIZE: no object straddles two pages). */
  readonly perPage: number;
  /** pool->free_work queued. */
  readonly workPending: number;
  readonly npages: number;
}

export const poolParams = (p: ZsPool): Params => ({
  mapping: p.mapping, lock: p.classLock, zs0: p.zspage0, nz: p.nzspages, h0: p.handle0, no: p.nobjects,
  work: p.workPending, npages: p.npages, pp: p.perPage,
});

const zsOff = (P: Params, z: number) => P.zs0 + z * ZSPAGE_BYTES;
const hOff = (P: Params, o: number) => P.h0 + o * HANDLE_BYTES;

/** get_zspage(page): page->private, with BUG_ON(zspage->magic != ZSPAGE_MAGIC). Returns the zspage index. */
export function get_zspage(m: Uint8Array, P: Params, pfn: number): number {
  const id = m[pfn * PAGE_STRIDE + F_PRIVATE];
  BUG_ON(id === 0 || id > P.nz || m[zsOff(P, id - 1) + ZS_ALIVE] === 0, 'zspage->magic != ZSPAGE_MAGIC', 'get_zspage', pfn);
  return id - 1;
}

/** Which subpage of zspage z the page is, or -1. */
function subpage(m: Uint8Array, P: Params, z: number, pfn: number): number {
  for (let i = 0; i < ZS_PAGES; i++) if (m[zsOff(P, z) + ZS_PAGE0 + i] === pfn) return i;
  return -1;
}

/** How many allocated objects a page holds (obj_to_head with OBJ_ALLOCATED_TAG). */
function objectsIn(m: Uint8Array, P: Params, pfn: number): number {
  let n = 0;
  for (let o = 0; o < P.no; o++) if (m[hOff(P, o) + H_LOC] === pfn) n++;
  return n;
}

/**
 * reset_page(page) (v4.8): __ClearPageMovable(page); ClearPagePrivate(page);
 * set_page_private(page, 0); (PG_private_2, _mapcount, PageHugeObject and freelist
 * are not modelled). The caller holds the page lock.
 */
export function reset_page(m: Uint8Array, pfn: number): void {
  __ClearPageMovable(m, pfn);
  clearFlag(m, pfn, PG_private);
  m[pfn * PAGE_STRIDE + F_PRIVATE] = 0;
}
export type ResetPage = (m: Uint8Array, pfn: number) => void;

/** VM_BUG_ON(cond): include/linux/mmdebug.h (CONFIG_DEBUG_VM=y). */
function VM_BUG_ON(cond: boolean, text: string, where: string): void {
  if (cond) throw new KernelBug(`VM_BUG_ON(${text})`, where, -1);
}

const classFree: GuardFn = (m, _L, P) => spinIsFree(m, P.lock);

// --- a_ops of the pool's inode (zsmalloc_aops), run in a compaction CPU's context --------

/** zs_page_isolate()'s entry checks and the verdict, read under class->lock. */
function canIsolate(m: Uint8Array, L: number, P: Params): boolean {
  const page = m[L + P.page];
  VM_BUG_ON_PAGE(!PageMovable(m, page), '!PageMovable(page)', 'zs_page_isolate', page);
  VM_BUG_ON_PAGE(PageIsolated(m, page), 'PageIsolated(page)', 'zs_page_isolate', page);
  const zs = zsOff(P, get_zspage(m, P, page));
  if (m[zs + ZS_INUSE] === 0) return false;
  if (m[zs + ZS_ONLIST] === 0 && m[zs + ZS_ISOLATED] === 0) return false;
  return true;
}
const zsCanIsolate: GuardFn = (m, L, P) => spinIsFree(m, P.lock) && canIsolate(m, L, P);
/**
 * zs_page_isolate() returning true: "if (!list_empty(&zspage->list) &&
 * !is_zspage_isolated(zspage)) remove_zspage(...); inc_zspage_isolation(zspage);",
 * all under class->lock, which guards every zspage list and count.
 */
export const zsIsolate: ActionFn = (m, L, P) => {
  const zs = zsOff(P, get_zspage(m, P, m[L + P.page]));
  if (m[zs + ZS_ONLIST] !== 0 && m[zs + ZS_ISOLATED] === 0) m[zs + ZS_ONLIST] = 0;
  m[zs + ZS_ISOLATED]++;
};

// --- zs_page_migrate() as a program of steps -----------------------------------------
//
// v4.8's zs_page_migrate() takes migrate_write_lock(zspage) first and class->lock
// second (zs_free() and zs_map_object() hold the read lock while they take
// class->lock, so the other order would deadlock), then trypin_tag()s every object
// of the page. The handles' pin bits are taken by zs_free() and zs_map_object()
// without class->lock, so each trypin is an interleaving point; so are the two lock
// acquisitions, which may wait. The copy, record_obj and replace_sub_page run under
// both locks with every object of the page pinned, so they are one step.

/** The next allocated object of `pfn` (in object order) that `mask` does not hold, or -1. */
function nextObjectIn(m: Uint8Array, P: Params, pfn: number, mask: number): number {
  for (let o = 0; o < P.no; o++) if (m[hOff(P, o) + H_LOC] === pfn && !(mask & (1 << o))) return o;
  return -1;
}
const zspageOfPage = (m: Uint8Array, L: number, P: Params) => zsOff(P, get_zspage(m, P, m[L + P.page]));

/** Step and action names of zs_page_migrate(), for traces and for the variants that change them. */
export const ZS_WRITE_LOCK = 'migrate_write_lock(zspage)';
export const ZS_WRITE_LOCKABLE = 'zspage->lock: no reader, no writer';
export const ZS_CLASS_LOCK = 'zs_page_migrate: spin_lock(&class->lock)';
export const ZS_CLASS_LOCKABLE = 'zs_page_migrate: class->lock free';
export const ZS_EMPTY_ZSPAGE = 'zs_page_migrate: !get_zspage_inuse(zspage)';
export const ZS_EBUSY_UNLOCK = 'ret = -EBUSY; spin_unlock(&class->lock); migrate_write_unlock(zspage)';
export const ZS_TRYPIN_FAILS = 'trypin_tag(handle) fails: the handle is pinned';
export const ZS_NEXT_OBJECT = 'an allocated object of the page not yet pinned';
export const ZS_TRYPIN = 'trypin_tag(handle)';
export const ZS_MORE_PINNED = 'more than one handle left to unpin';
export const ZS_UNPIN = 'unpin_tag(handle)';
export const ZS_UNPIN_UNLOCK = 'unpin_tag(last handle); spin_unlock(&class->lock); migrate_write_unlock(zspage)';
/** Labels of zs_page_migrate()'s steps after its first (`at`): `${at}/${label}`. */
export const ZS_STEP_CLASS_LOCK = 'class lock';
export const ZS_STEP_TRYPIN = 'trypin';

/** VM_BUG_ONs, get_zspage(page), migrate_write_lock(zspage): it waits for readers and for another writer. */
export const writeLockable: GuardFn = (m, L, P) => {
  const zs = zspageOfPage(m, L, P);
  return m[zs + ZS_READERS] === 0 && m[zs + ZS_WRITER] === 0;
};
export const writeLock: ActionFn = (m, L, P, A) => {
  const page = m[L + P.page];
  VM_BUG_ON_PAGE(!PageMovable(m, page), '!PageMovable(page)', 'zs_page_migrate', page);
  VM_BUG_ON_PAGE(!PageIsolated(m, page), '!PageIsolated(page)', 'zs_page_migrate', page);
  const zs = zspageOfPage(m, L, P);
  BUG_ON(m[zs + ZS_WRITER] !== 0 || m[zs + ZS_READERS] !== 0, 'write_lock: lock held', 'migrate_write_lock', page);
  m[zs + ZS_WRITER] = A + 1;
  m[L + P.zspage] = get_zspage(m, P, page);
};
/** migrate_write_unlock(zspage) of the zspage this call locked (its local `zspage`); forgets it. */
const writeUnlock = (m: Uint8Array, L: number, P: Params) => {
  const zs = zsOff(P, m[L + P.zspage]);
  BUG_ON(m[zs + ZS_WRITER] === 0, 'write_unlock: not write-locked', 'migrate_write_unlock', m[L + P.page]);
  m[zs + ZS_WRITER] = 0;
  m[L + P.zspage] = 0;
};
export const classLock: ActionFn = (m, _L, P, A) => spin_lock(m, P.lock, A);
export const zspageEmpty: GuardFn = (m, L, P) => m[zspageOfPage(m, L, P) + ZS_INUSE] === 0;
export const ebusyUnlock: ActionFn = (m, L, P) => {
  spin_unlock(m, P.lock);
  writeUnlock(m, L, P);
};
const nextPinned: GuardFn = (m, L, P) => {
  const o = nextObjectIn(m, P, m[L + P.page], m[L + P.pinned]);
  return o >= 0 && m[hOff(P, o) + H_PIN] !== 0;
};
const hasNextObject: GuardFn = (m, L, P) => nextObjectIn(m, P, m[L + P.page], m[L + P.pinned]) >= 0;
/**
 * trypin_tag(handle): bit_spin_trylock(HANDLE_PIN_BIT), an atomic test_and_set_bit on
 * the handle word. `pins` false: the object is walked but not pinned (a variant).
 */
export const trypinStep = (pins: boolean): ActionFn => (m, L, P) => {
  const o = nextObjectIn(m, P, m[L + P.page], m[L + P.pinned]);
  if (pins) m[hOff(P, o) + H_PIN] = 1;
  m[L + P.pinned] |= 1 << o;
};
const trypin = trypinStep(true);
const morePinned: GuardFn = (m, L, P) => (m[L + P.pinned] & (m[L + P.pinned] - 1)) !== 0;
/**
 * unpin_objects: "if (!testpin_tag(handle)) BUG(); unpin_tag(handle);" for the lowest
 * handle of `pinned`. `pins` false: a zs_page_migrate() that never pinned (a variant)
 * only walks its mask.
 */
function unpinLowest(m: Uint8Array, L: number, P: Params, pins: boolean): void {
  const mask = m[L + P.pinned];
  if (mask === 0) return;
  const o = 31 - Math.clz32(mask & -mask);
  if (pins) {
    BUG_ON(m[hOff(P, o) + H_PIN] === 0, '!testpin_tag(handle)', 'zs_page_migrate', -1);
    m[hOff(P, o) + H_PIN] = 0; // unpin_tag(): bit_spin_unlock
  }
  m[L + P.pinned] = mask & (mask - 1);
}
export const unpinStep = (pins: boolean): ActionFn => (m, L, P) => unpinLowest(m, L, P, pins);
const unpin = unpinStep(true);
/**
 * The last unpin_tag() with kunmap_atomic, spin_unlock(&class->lock) and
 * migrate_write_unlock(zspage): one step, as each is a release, which no other
 * actor's step can tell apart from a release a moment later.
 */
export const unpinUnlockStep = (pins: boolean): ActionFn => (m, L, P) => {
  unpinLowest(m, L, P, pins);
  spin_unlock(m, P.lock);
  writeUnlock(m, L, P);
};
const unpinUnlock = unpinUnlockStep(true);

/**
 * zs_page_migrate()'s body once every object of the page is pinned (v4.8), under
 * both page locks, the zspage's write lock and class->lock: the copy, record_obj of
 * each object's handle to newpage (new_obj |= BIT(HANDLE_PIN_BIT): the pin stays),
 * replace_sub_page() (create_page_chain: page->private, PG_private for the first page,
 * __SetPageMovable), get_page(newpage), dec_zspage_isolation and, at zero,
 * putback_zspage(); reset_page(page); put_page(page).
 */
export function zsMigrate(reset: ResetPage, { recordObj = true, putOld = true, pinned = true } = {}): ActionFn {
  return (m, L, P) => {
    const page = m[L + P.page];
    const newpage = m[L + P.newpage];
    const z = get_zspage(m, P, page);
    const zs = zsOff(P, z);
    const i = subpage(m, P, z, page);
    BUG_ON(i < 0, 'page not in its zspage\'s chain', 'replace_sub_page', page);
    for (let o = 0; o < P.no; o++) {
      if (m[hOff(P, o) + H_LOC] !== page) continue;
      if (pinned) BUG_ON(m[hOff(P, o) + H_PIN] === 0, '!testpin_tag(handle)', 'zs_page_migrate', page);
      if (recordObj) m[hOff(P, o) + H_LOC] = newpage; // record_obj(handle, new_obj)
    }
    m[zs + ZS_PAGE0 + i] = newpage; // create_page_chain()
    m[newpage * PAGE_STRIDE + F_PRIVATE] = z + 1;
    if (i === 0) setFlag(m, newpage, PG_private);
    __SetPageMovable(m, newpage, P.mapping);
    get_page(m, newpage);
    m[zs + ZS_ISOLATED]--; // dec_zspage_isolation
    if (m[zs + ZS_ISOLATED] === 0) m[zs + ZS_ONLIST] = 1; // putback_zspage()
    reset(m, page);
    if (putOld) put_page(m, page);
  };
}
const zsMigrateV48 = zsMigrate(reset_page);

/**
 * zs_page_migrate(mapping, newpage, page, mode), mm/zsmalloc.c v4.8, step by step:
 *   migrate_write_lock(zspage);                       waits for readers and a writer
 *   spin_lock(&class->lock);                          waits
 *   if (!get_zspage_inuse(zspage)) { ret = -EBUSY; goto unlock_class; }
 *   for each allocated object of the page:
 *       if (!trypin_tag(handle)) goto unpin_objects;  one step each
 *   copy; record_obj(handle, new_obj) for each; replace_sub_page; get_page(newpage);
 *   dec_zspage_isolation; putback_zspage if no longer isolated; reset_page(page);
 *   put_page(page); page = newpage; ret = MIGRATEPAGE_SUCCESS;
 * unpin_objects: unpin_tag(handle) for each pinned object;
 * unlock_class: spin_unlock(&class->lock); migrate_write_unlock(zspage); return ret;
 * The -EBUSY exit takes and drops class->lock in one step: nothing it reads can
 * change while the lock is held. Locals: `pinned`, a mask of the handles this call
 * holds, and `zspage`, the zspage it write-locked (page->private of the old page is
 * gone once reset_page() ran).
 */
export function zsPageMigrate(pool: ZsPool) {
  const pp = poolParams(pool);
  return (_b: ProgramBuilder, a: { page: number; newpage: number }): CallbackProgram => ({
    program: (b, at, ret) => {
      const fn = 'zs_page_migrate';
      const x = (t: string) => `${at}/${t}`;
      const P = { ...pp, ...a, pinned: b.local('zs_page_migrate: pinned handles'), zspage: b.local('zs_page_migrate: zspage') };
      const lockable = b.g(ZS_CLASS_LOCKABLE, classFree, P);
      b.steps(at, fn, 'get_zspage(page); migrate_write_lock(zspage)', [
        br(x(ZS_STEP_CLASS_LOCK), [b.a(ZS_WRITE_LOCK, writeLock, P)], b.g(ZS_WRITE_LOCKABLE, writeLockable, P)),
      ]);
      b.steps(x(ZS_STEP_CLASS_LOCK), fn, 'spin_lock(&class->lock); if (!get_zspage_inuse(zspage)) goto unlock_class (-EBUSY)', [
        br(ret(EBUSY), [b.a(ZS_CLASS_LOCK, classLock, P), b.a(ZS_EBUSY_UNLOCK, ebusyUnlock, P)], b.and(lockable, b.g(ZS_EMPTY_ZSPAGE, zspageEmpty, P))),
        br(x(ZS_STEP_TRYPIN), [b.a(ZS_CLASS_LOCK, classLock, P)], lockable),
      ]);
      b.steps(x(ZS_STEP_TRYPIN), fn, 'if (!trypin_tag(handle)) goto unpin_objects (next object); else move the page', [
        br(x('unpin -EAGAIN'), [], b.g(ZS_TRYPIN_FAILS, nextPinned, P)),
        br(x(ZS_STEP_TRYPIN), [b.a(ZS_TRYPIN, trypin, P)], b.g(ZS_NEXT_OBJECT, hasNextObject, P)),
        br(x('unpin SUCCESS'), [b.a(ZS_MIGRATE, zsMigrateV48, P)]),
      ]);
      for (const [label, rc] of [['unpin -EAGAIN', EAGAIN], ['unpin SUCCESS', RC_SUCCESS]] as const) {
        b.steps(x(label), fn, 'unpin_objects: unpin_tag(handle) each; unlock_class: spin_unlock(&class->lock); migrate_write_unlock(zspage)', [
          br(x(label), [b.a(ZS_UNPIN, unpin, P)], b.g(ZS_MORE_PINNED, morePinned, P)),
          br(ret(rc), [b.a(ZS_UNPIN_UNLOCK, unpinUnlock, P)]),
        ]);
      }
    },
  });
}

/**
 * zs_page_putback() (v4.8), under the page lock and class->lock:
 * dec_zspage_isolation; if no longer isolated, putback_zspage() and, for an empty
 * zspage, schedule_work(&pool->free_work). One step: get_zspage_mapping() before the
 * lock reads the class index, which is constant while the zspage lives, and every
 * field the body touches is written only under class->lock at v4.8.
 */
export const zsPutback: ActionFn = (m, L, P) => {
  const page = m[L + P.page];
  VM_BUG_ON_PAGE(!PageMovable(m, page), '!PageMovable(page)', 'zs_page_putback', page);
  VM_BUG_ON_PAGE(!PageIsolated(m, page), '!PageIsolated(page)', 'zs_page_putback', page);
  const zs = zsOff(P, get_zspage(m, P, page));
  m[zs + ZS_ISOLATED]--;
  if (m[zs + ZS_ISOLATED] === 0) {
    m[zs + ZS_ONLIST] = 1;
    if (m[zs + ZS_INUSE] === 0) m[P.work] = 1;
  }
};

/** Action names the variants patch by. */
export const ZS_ISOLATE = 'zs_page_isolate';
export const ZS_MIGRATE = 'zs_page_migrate: copy, record_obj, replace_sub_page, putback_zspage?, reset_page, put_page';
export const ZS_FREE_OBJ = 'zs_free: obj_free, fix_fullness_group, free_zspage?';
export const ZS_FREE_READ_OBJ = 'zs_free: handle_to_obj; get_zspage(f_page)';
export const ZS_RESET_0 = '__free_zspage: reset_page(subpage 0); unlock_page';
export const ZS_RESET_1 = '__free_zspage: put_page(subpage 0); reset_page(subpage 1); unlock_page';

/**
 * The pool inode's a_ops (zsmalloc_aops). zs_page_isolate() and zs_page_putback()
 * stay one step each: their whole body is under class->lock, which every writer of
 * what they read and write takes; zs_page_migrate() is a program of steps.
 */
export function zsmallocAops(pool: ZsPool): MovableOps {
  const pp = poolParams(pool);
  return {
    mapping: pool.mapping,
    isolatePage: (b, page) => [
      { event: STEP, guard: b.g('class->lock free; zs_page_isolate: inuse && (on a list || isolated)', zsCanIsolate, { ...pp, page }), actions: [b.a(ZS_ISOLATE, zsIsolate, { ...pp, page })], value: 1 },
      { event: STEP, guard: b.g('class->lock free', classFree, pp), actions: [], value: 0 },
    ],
    migratePage: zsPageMigrate(pool),
    putbackPage: (b, page) => [
      { event: STEP, guard: b.g('class->lock free', classFree, pp), actions: [b.a('zs_page_putback', zsPutback, { ...pp, page })], value: 0 },
    ],
  };
}

// --- zs_malloc(pool, size) for object `o`, as a step-program fragment ----------------

/** Results kept in a local. */
const R_DONE = 0;
const R_MORE = 1;

const findAndMalloc: ActionFn = (m, L, P, A) => {
  spin_lock(m, P.lock, A);
  // find_get_zspage(): a zspage on a fullness list other than ZS_FULL.
  for (let z = 0; z < P.nz; z++) {
    const zs = zsOff(P, z);
    if (m[zs + ZS_ALIVE] && m[zs + ZS_ONLIST] === 1 && m[zs + ZS_INUSE] < ZS_PAGES * P.pp) {
      objMalloc(m, P, z, P.o);
      spin_unlock(m, P.lock);
      m[L + P.res] = R_DONE;
      return;
    }
  }
  spin_unlock(m, P.lock);
  m[L + P.res] = R_MORE;
};
/** obj_malloc() + record_obj(): the first page of the zspage with a free slot takes the object. */
function objMalloc(m: Uint8Array, P: Params, z: number, o: number): void {
  const zs = zsOff(P, z);
  for (let i = 0; i < ZS_PAGES; i++) {
    const pfn = m[zs + ZS_PAGE0 + i];
    if (objectsIn(m, P, pfn) < P.pp) {
      m[hOff(P, o) + H_LOC] = pfn;
      m[zs + ZS_INUSE]++;
      return;
    }
  }
  BUG_ON(true, 'no free object in a zspage that is not full', 'obj_malloc', -1);
}
/** alloc_zspage(): cache_alloc_zspage + alloc_page() for each subpage (pfns 2z, 2z + 1 of a free zspage slot). */
const allocZspage: ActionFn = (m, L, P) => {
  for (let z = 0; z < P.nz; z++) {
    if (m[zsOff(P, z) + ZS_ALIVE] || m[L + P.used] & (1 << z)) continue;
    m[L + P.used] |= 1 << z;
    m[L + P.z] = z;
    for (let i = 0; i < ZS_PAGES; i++) alloc_page(m, z * ZS_PAGES + i);
    m[L + P.res] = R_MORE;
    return;
  }
  m[L + P.res] = R_DONE; // no zspage to be had: zs_malloc() returns 0
};
/** create_page_chain() and init_zspage(): only the allocating thread knows these pages. */
const createChain: ActionFn = (m, L, P) => {
  const z = m[L + P.z];
  const zs = zsOff(P, z);
  for (let i = 0; i < ZS_PAGES; i++) {
    const pfn = z * ZS_PAGES + i;
    m[zs + ZS_PAGE0 + i] = pfn;
    m[pfn * PAGE_STRIDE + F_PRIVATE] = z + 1;
    if (i === 0) setFlag(m, pfn, PG_private); // SetPagePrivate(first page)
  }
  m[zs + ZS_ALIVE] = 1;
  m[zs + ZS_INUSE] = 0;
  m[zs + ZS_ISOLATED] = 0;
  m[zs + ZS_ONLIST] = 0;
};
/**
 * Under class->lock: obj_malloc, insert_zspage, set_zspage_mapping, record_obj and
 * SetZsPageMovable(): for each subpage WARN_ON(!trylock_page(page));
 * __SetPageMovable(page, pool->inode->i_mapping); unlock_page(page). Nobody else may
 * lock a page before it is movable, so the trylocks and unlocks stay inside the step.
 */
const insertNewZspage: ActionFn = (m, L, P, A) => {
  spin_lock(m, P.lock, A);
  const z = m[L + P.z];
  objMalloc(m, P, z, P.o);
  m[zsOff(P, z) + ZS_ONLIST] = 1;
  for (let i = 0; i < ZS_PAGES; i++) {
    const pfn = m[zsOff(P, z) + ZS_PAGE0 + i];
    WARN_ON(!trylock_page(m, pfn, A), '!trylock_page(page)', 'SetZsPageMovable', pfn);
    __SetPageMovable(m, pfn, P.mapping);
    unlock_page(m, pfn);
  }
  spin_unlock(m, P.lock);
};
const resIs: GuardFn = (m, L, P) => m[L + P.res] === P.value;

/**
 * zs_malloc(pool, size) (v4.8) for object `o`: a free slot of a zspage on the class's
 * lists under class->lock, or else a new zspage allocated without the lock and
 * inserted under it. `z`, `res` and `used` are the caller's locals.
 */
export function zsMalloc(
  b: ProgramBuilder, at: string, pool: ZsPool, o: number,
  slot: { readonly z: number; readonly res: number; readonly used: number }, next: string,
): void {
  const fn = 'zs_malloc';
  const x = (s: string) => `${at}/${s}`;
  const P = { ...poolParams(pool), ...slot, o };
  b.steps(at, fn, 'spin_lock(&class->lock); zspage = find_get_zspage(class); obj_malloc; record_obj; spin_unlock', [
    br(x('found?'), [b.a(`zs_malloc(${o}): find_get_zspage, obj_malloc`, findAndMalloc, P)], b.g('class->lock free', classFree, P)),
  ]);
  b.localStep(x('found?'), fn, 'if (likely(zspage)) return handle', [
    br(next, [], b.g('done', resIs, { res: slot.res, value: R_DONE })),
    br(x('alloc')),
  ]);
  b.steps(x('alloc'), 'alloc_zspage', 'zspage = cache_alloc_zspage(); page = alloc_page(gfp) for each subpage', [
    br(x('alloc?'), [b.a('alloc_zspage: alloc_page x2', allocZspage, P)]),
  ]);
  b.localStep(x('alloc?'), fn, 'if (!zspage) return 0', [
    br(next, [], b.g('no zspage', resIs, { res: slot.res, value: R_DONE })),
    br(x('chain')),
  ]);
  b.steps(x('chain'), 'alloc_zspage', 'create_page_chain(); init_zspage()', [br(x('insert'), [b.a('create_page_chain; init_zspage', createChain, P)])]);
  b.steps(x('insert'), fn, 'spin_lock(&class->lock); obj_malloc; insert_zspage; record_obj; SetZsPageMovable(pool, zspage); spin_unlock', [
    br(next, [b.a(`zs_malloc(${o}): insert the new zspage; SetZsPageMovable`, insertNewZspage, P)], b.g('class->lock free', classFree, P)),
  ]);
}

// --- zs_free(pool, handle) and free_zspage() ----------------------------------------

const handleAllocated: GuardFn = (m, _L, P) => m[hOff(P, P.o) + H_LOC] !== NO_PFN;
const handleNotAllocated: GuardFn = (m, _L, P) => m[hOff(P, P.o) + H_LOC] === NO_PFN;
const handleUnpinned: GuardFn = (m, _L, P) => m[hOff(P, P.o) + H_PIN] === 0;
/** pin_tag(handle): bit_spin_lock(HANDLE_PIN_BIT) on the handle word, taken when the bit is clear. */
const pinTag: ActionFn = (m, _L, P) => { m[hOff(P, P.o) + H_PIN] = 1; };
/** obj = handle_to_obj(handle); obj_to_location(obj, &f_page, &f_objidx); zspage = get_zspage(f_page). */
const readObj: ActionFn = (m, L, P) => {
  const fpage = m[hOff(P, P.o) + H_LOC];
  m[L + P.fpage] = fpage;
  m[L + P.z] = get_zspage(m, P, fpage);
};
/** migrate_read_lock(zspage): read_lock(&zspage->lock) spins while zs_page_migrate() holds the write lock. */
const noWriter: GuardFn = (m, L, P) => m[zsOff(P, m[L + P.z]) + ZS_WRITER] === 0;
const readLock: ActionFn = (m, L, P) => { m[zsOff(P, m[L + P.z]) + ZS_READERS]++; };

/** What zs_free's locked step leaves to do. */
const F_DONE = 0;
const F_FREEING = 1;

/**
 * zs_free()'s section under class->lock: obj_free; fix_fullness_group; if the
 * zspage is now empty and not isolated, free_zspage(): VM_BUG_ONs, trylock_zspage()
 * (every subpage, or none and kick_deferred_free()), remove_zspage. The read lock is
 * dropped inside. When the pages are locked, __free_zspage() follows in the next steps.
 * `checkIsolated` is the `if (likely(!isolated))` test.
 *
 * One step: the zspage's counts, lists and handles are only touched under
 * class->lock (the read lock and the pin only keep migration out). The two
 * trylock_page() calls of trylock_zspage() are atomic operations on page locks,
 * which no one takes under class->lock; taking both at one instant loses nothing,
 * since a page this thread has trylocked stays locked, so the sequence succeeds
 * exactly when, at the second trylock, both pages are free of other holders, and
 * fails (unlocking what it took) otherwise.
 */
export function zsFreeLocked(checkIsolated: boolean): ActionFn {
  return (m, L, P, A) => {
    spin_lock(m, P.lock, A);
    const h = hOff(P, P.o);
    const z = m[L + P.z];
    const zs = zsOff(P, z);
    // obj_free(class, obj): obj_to_location(obj, &f_page); zspage = get_zspage(f_page)
    // from the obj read after pin_tag; the object leaves its zspage's count.
    const fz = zsOff(P, get_zspage(m, P, m[L + P.fpage]));
    m[h + H_LOC] = NO_PFN;
    m[fz + ZS_INUSE]--;
    m[L + P.fpage] = 0;
    m[L + P.res] = F_DONE;
    if (m[zs + ZS_INUSE] !== 0) {
      m[zs + ZS_READERS]--;
      return;
    }
    const isolated = m[zs + ZS_ISOLATED] !== 0;
    m[zs + ZS_READERS]--;
    if (checkIsolated && isolated) return;
    // free_zspage()
    VM_BUG_ON(m[zs + ZS_ONLIST] === 0, 'list_empty(&zspage->list)', 'free_zspage');
    const pages = [m[zs + ZS_PAGE0], m[zs + ZS_PAGE0 + 1]];
    if (!trylockZspage(m, pages, A)) {
      m[P.work] = 1; // kick_deferred_free(pool)
      return;
    }
    VM_BUG_ON(m[zs + ZS_ISOLATED] !== 0, 'is_zspage_isolated(zspage)', 'remove_zspage');
    m[zs + ZS_ONLIST] = 0; // remove_zspage(class, zspage, ZS_EMPTY)
    m[L + P.res] = F_FREEING;
  };
}
/** trylock_zspage(): trylock every subpage, or unlock those taken and fail. */
function trylockZspage(m: Uint8Array, pages: number[], A: number): boolean {
  for (let i = 0; i < pages.length; i++) {
    if (!trylock_page(m, pages[i], A)) {
      for (let j = 0; j < i; j++) unlock_page(m, pages[j]);
      return false;
    }
  }
  return true;
}
const zsFreeLockedV48 = zsFreeLocked(true);

/** __free_zspage(), first subpage: VM_BUG_ONs, reset_page(page); unlock_page(page). */
export function freeSubpage0(reset: ResetPage): ActionFn {
  return (m, L, P) => {
    const zs = zsOff(P, m[L + P.z]);
    VM_BUG_ON(m[zs + ZS_INUSE] !== 0, 'get_zspage_inuse(zspage)', '__free_zspage');
    const page = m[zs + ZS_PAGE0];
    VM_BUG_ON_PAGE(!PageLocked(m, page), '!PageLocked(page)', '__free_zspage', page);
    reset(m, page);
    unlock_page(m, page);
  };
}
/**
 * put_page(subpage 0), then reset_page(subpage 1); unlock_page(subpage 1). One step:
 * the put_page is an atomic operation on a page this thread no longer locks, and the
 * other page is held locked until the unlock that ends the step.
 */
export function freeSubpage1(reset: ResetPage): ActionFn {
  return (m, L, P) => {
    const zs = zsOff(P, m[L + P.z]);
    put_page(m, m[zs + ZS_PAGE0]);
    const page = m[zs + ZS_PAGE0 + 1];
    VM_BUG_ON_PAGE(!PageLocked(m, page), '!PageLocked(page)', '__free_zspage', page);
    reset(m, page);
    unlock_page(m, page);
  };
}
/** put_page(subpage 1); cache_free_zspage(); then the caller's unlocks. */
const freeSubpage1Put: ActionFn = (m, L, P) => {
  const zs = zsOff(P, m[L + P.z]);
  put_page(m, m[zs + ZS_PAGE0 + 1]);
  for (let i = 0; i < ZSPAGE_BYTES; i++) m[zs + i] = 0;
  m[zs + ZS_PAGE0] = NO_PFN;
  m[zs + ZS_PAGE0 + 1] = NO_PFN;
};
const freeSubpage0V48 = freeSubpage0(reset_page);
const freeSubpage1V48 = freeSubpage1(reset_page);
const unlockClass: ActionFn = (m, _L, P) => spin_unlock(m, P.lock);
const unpinHandle: ActionFn = (m, _L, P) => { m[hOff(P, P.o) + H_PIN] = 0; };

/**
 * __free_zspage(pool, class, zspage) with class->lock held and every subpage locked
 * (mm/zsmalloc.c v4.8), then `tail` (the caller's unlocks) and `next`.
 */
export function freeZspagePages(b: ProgramBuilder, at: string, P: Params, tail: ReturnType<ProgramBuilder['a']>[], next: string): void {
  const x = (s: string) => `${at}/${s}`;
  b.steps(at, '__free_zspage', 'reset_page(page); unlock_page(page) (first subpage)', [br(x('1'), [b.a(ZS_RESET_0, freeSubpage0V48, P)])]);
  b.steps(x('1'), '__free_zspage', 'put_page(page); reset_page(next); unlock_page(next)', [br(x('2'), [b.a(ZS_RESET_1, freeSubpage1V48, P)])]);
  b.steps(x('2'), '__free_zspage', 'put_page(next); cache_free_zspage(); spin_unlock(&class->lock)', [
    br(next, [b.a('put_page; cache_free_zspage', freeSubpage1Put, P), ...tail]),
  ]);
}

/**
 * zs_free(pool, handle) (v4.8) for object `o`: pin_tag, the unlocked read of the
 * object's location, migrate_read_lock, the locked section, and __free_zspage when
 * the zspage emptied and could be locked.
 */
export function zsFree(
  b: ProgramBuilder, at: string, pool: ZsPool, o: number,
  slot: { readonly z: number; readonly res: number }, next: string,
): void {
  const fn = 'zs_free';
  const x = (s: string) => `${at}/${s}`;
  const P = { ...poolParams(pool), ...slot, o, fpage: b.local('f_page') };
  // Three interleaving points before class->lock: pin_tag() spins on the handle's pin
  // bit, which zs_page_migrate() takes with trypin_tag(); the handle word and
  // page->private are then read without a lock (only the pin keeps them stable); and
  // migrate_read_lock() spins while a zs_page_migrate() holds the write lock.
  b.steps(at, fn, 'if (!handle) return; pin_tag(handle)', [
    br(x('obj'), [b.a(`zs_free(${o}): pin_tag(handle)`, pinTag, P)], b.and(b.g('handle allocated', handleAllocated, P), b.g('pin bit clear', handleUnpinned, P))),
    br(next, [], b.g('handle == 0 (zs_malloc failed)', handleNotAllocated, P)),
  ]);
  b.steps(x('obj'), fn, 'obj = handle_to_obj(handle); obj_to_location(obj, &f_page, &f_objidx); zspage = get_zspage(f_page)', [
    br(x('read lock'), [b.a(ZS_FREE_READ_OBJ, readObj, P)]),
  ]);
  b.steps(x('read lock'), fn, 'migrate_read_lock(zspage)', [
    br(x('locked'), [b.a('migrate_read_lock(zspage)', readLock, P)], b.g('zspage->lock: no writer', noWriter, P)),
  ]);
  b.steps(x('locked'), fn, 'spin_lock(&class->lock); obj_free; fix_fullness_group; migrate_read_unlock; if empty && !isolated: free_zspage (trylock_zspage, remove_zspage)', [
    br(x('freeing?'), [b.a(ZS_FREE_OBJ, zsFreeLockedV48, P)], b.g('class->lock free', classFree, P)),
  ]);
  b.localStep(x('freeing?'), fn, '__free_zspage next?', [
    br(x('free'), [], b.g('zspage locked for __free_zspage', resIs, { res: slot.res, value: F_FREEING })),
    br(x('out')),
  ]);
  // out: spin_unlock(&class->lock); unpin_tag(handle); cache_free_handle(pool, handle)
  b.steps(x('out'), fn, 'spin_unlock(&class->lock); unpin_tag(handle)', [
    br(next, [b.a('spin_unlock(&class->lock)', unlockClass, P), b.a('unpin_tag(handle)', unpinHandle, P)]),
  ]);
  freeZspagePages(b, x('free'), P, [b.a('spin_unlock(&class->lock)', unlockClass, P), b.a('unpin_tag(handle)', unpinHandle, P)], next);
}

// --- async_free_zspage(): the pool's free_work ----------------------------------------

const workPending: GuardFn = (m, _L, P) => m[P.work] !== 0;
/** Under class->lock: list_splice_init(&class->fullness_list[ZS_EMPTY], &free_pages). */
const spliceEmpty: ActionFn = (m, L, P, A) => {
  spin_lock(m, P.lock, A);
  m[P.work] = 0;
  let mask = 0;
  for (let z = 0; z < P.nz; z++) {
    const zs = zsOff(P, z);
    if (m[zs + ZS_ALIVE] && m[zs + ZS_ONLIST] === 1 && m[zs + ZS_INUSE] === 0) {
      m[zs + ZS_ONLIST] = 2;
      mask |= 1 << z;
    }
  }
  m[L + P.todo] = mask;
  spin_unlock(m, P.lock);
};
const workIdleForGood: GuardFn = (m, _L, P) => m[P.work] === 0 && m[P.running] === 0;
const hasTodo: GuardFn = (m, L, P) => m[L + P.todo] !== 0;
const takeTodo: ActionFn = (m, L, P) => {
  const mask = m[L + P.todo];
  let z = 0;
  while (!(mask & (1 << z))) z++;
  m[L + P.todo] = mask & ~(1 << z);
  m[L + P.z] = z;
};
const subUnlocked: GuardFn = (m, L, P) => !PageLocked(m, m[zsOff(P, m[L + P.z]) + ZS_PAGE0 + P.i]);
/** list_del(&zspage->list); lock_zspage(): lock_page of the first subpage. */
const lockSub: ActionFn = (m, L, P, A) => {
  const zs = zsOff(P, m[L + P.z]);
  if (P.i === 0) m[zs + ZS_ONLIST] = 0;
  trylock_page(m, m[zs + ZS_PAGE0 + P.i], A);
};
/** get_zspage_mapping; VM_BUG_ON(fullness != ZS_EMPTY); spin_lock(&class->lock). */
const lockClassForFree: ActionFn = (m, L, P, A) => {
  VM_BUG_ON(m[zsOff(P, m[L + P.z]) + ZS_INUSE] !== 0, 'fullness != ZS_EMPTY', 'async_free_zspage');
  spin_lock(m, P.lock, A);
};

/**
 * async_free_zspage() (v4.8), the pool's free_work, queued by kick_deferred_free()
 * and zs_page_putback(). It may stop once nothing is queued and `running` (a ghost
 * count of the other actors still at work, who alone can queue it) is zero.
 */
export function freeWorkProgram(b: ProgramBuilder, pool: ZsPool, running: number): void {
  const P = { ...poolParams(pool), todo: b.local('free_pages'), z: b.local('zspage'), res: b.local('res') };
  b.step('idle', 'async_free_zspage', 'wait for schedule_work(&pool->free_work)', {
    RUN: [br('splice', [], b.g('free_work queued', workPending, P))],
    STOP: [br('done', [], b.g('nothing queued and nobody left to queue it', workIdleForGood, { ...P, running }))],
  });
  b.steps('splice', 'async_free_zspage', 'spin_lock(&class->lock); list_splice_init(&class->fullness_list[ZS_EMPTY], &free_pages); spin_unlock', [
    br('next', [b.a('list_splice_init(ZS_EMPTY)', spliceEmpty, P)], b.g('class->lock free', classFree, P)),
  ]);
  b.localStep('next', 'async_free_zspage', 'list_for_each_entry_safe(zspage, tmp, &free_pages, list)', [
    br('lock0', [b.a('zspage = next entry', takeTodo, P)], b.g('free_pages not empty', hasTodo, P)),
    br('idle'),
  ]);
  for (let i = 0; i < ZS_PAGES; i++) {
    b.steps(`lock${i}`, 'lock_zspage', `${i === 0 ? 'list_del(&zspage->list); ' : ''}lock_page(subpage ${i})`, [
      br(i + 1 < ZS_PAGES ? `lock${i + 1}` : 'free/lock', [b.a(`lock_page(subpage ${i})`, lockSub, { ...P, i })], b.g(`subpage ${i} unlocked`, subUnlocked, { ...P, i })),
    ]);
  }
  b.steps('free/lock', 'async_free_zspage', 'VM_BUG_ON(fullness != ZS_EMPTY); spin_lock(&class->lock)', [
    br('free', [b.a('spin_lock(&class->lock) for __free_zspage', lockClassForFree, P)], b.g('class->lock free', classFree, P)),
  ]);
  freeZspagePages(b, 'free', P, [b.a('spin_unlock(&class->lock)', unlockClass, P)], 'next');
}
