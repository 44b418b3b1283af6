/**
 * struct list_head as the kernel has it: include/linux/list.h, include/linux/poison.h
 * and CONFIG_DEBUG_LIST's lib/list_debug.c (v4.8; the checks kept their messages when
 * v4.10 moved them into __list_add_valid()/__list_del_entry_valid(), so later systems
 * use the same module).
 *
 * A list_head is two bytes of the packed world: `next` at its offset, `prev` right
 * after. A pointer is a one-byte *node id*: which list_head it points to. A ListSpace,
 * built by each model, maps node ids to world offsets: every page's `lru` (or whatever
 * list_head a page kind links through) and every list head (a driver's list,
 * cc->migratepages, a zone free list). Id 0 is NULL; LIST_POISON1/2 are the poison
 * values list_del() leaves behind.
 *
 * The functions are the kernel's, one C function each, and run inside one atomic step
 * of the caller. A walk that another CPU can change under the walker must not use
 * `listEntries()` (one step); it keeps its cursor in the actor's locals and follows
 * one pointer per step with `listNextOf()`.
 *
 * Following NULL or a poisoned pointer is what the kernel would oops on: the core
 * throws a KernelBug (a general protection fault for LIST_POISON, which is a
 * non-canonical address on x86-64), never a check a variant writes.
 */
import { KernelBug } from './bug.ts';

/** A NULL struct list_head pointer. */
export const LIST_NULL = 0;
/** LIST_POISON1: ((void *) 0x100 + POISON_POINTER_DELTA), include/linux/poison.h. */
export const LIST_POISON1 = 0xf1;
/** LIST_POISON2: ((void *) 0x200 + POISON_POINTER_DELTA). */
export const LIST_POISON2 = 0xf2;
/** The largest node id a space may register. */
export const LIST_MAX_NODE = 0xef;

/** Where each node id's list_head lives in the world. */
export class ListSpace {
  /** node id -> byte offset of its `next` (`prev` is at +1), or -1. */
  readonly at = new Int32Array(256).fill(-1);
  /** 1 for a node that is a list head (not embedded in an entry). */
  readonly head = new Uint8Array(256);
  /** node id -> name, for traces and messages. */
  readonly names = new Map<number, string>();

  /** Register node `id` at world offset `offset`. */
  node(id: number, offset: number, name: string, isHead = false): number {
    if (!Number.isInteger(id) || id <= LIST_NULL || id > LIST_MAX_NODE) throw new Error(`list node id ${id} out of range`);
    if (this.at[id] >= 0) throw new Error(`list node ${id} registered twice`);
    this.at[id] = offset;
    this.head[id] = isHead ? 1 : 0;
    this.names.set(id, name);
    return id;
  }

  /** The node's name, or the pointer value as the kernel would print it. */
  name(id: number): string {
    if (id === LIST_NULL) return 'NULL';
    if (id === LIST_POISON1) return 'LIST_POISON1';
    if (id === LIST_POISON2) return 'LIST_POISON2';
    return this.names.get(id) ?? `node${id}`;
  }
}

/**
 * The world offset of the list_head a pointer points to: a dereference. NULL, poison
 * and any id that is not a list_head oops, as the kernel would.
 */
export function deref(S: ListSpace, ptr: number, where: string): number {
  const at = S.at[ptr];
  if (at >= 0) return at;
  if (ptr === LIST_NULL) throw new KernelBug('BUG: unable to handle kernel NULL pointer dereference', where, -1);
  if (ptr === LIST_POISON1 || ptr === LIST_POISON2) {
    throw new KernelBug(`general protection fault: dereferencing ${S.name(ptr)}`, where, -1);
  }
  throw new KernelBug(`BUG: unable to handle kernel paging request (list pointer ${ptr})`, where, -1);
}

/**
 * list_entry(ptr, type, member) followed by the first access of the entry: a walk
 * that reaches a node which is a list head of another list (a free list, another
 * CPU's list) takes the head's container for an entry, which the kernel reads as
 * garbage. The model cannot hold that garbage, so it is a bug here, as NULL and
 * poison are.
 */
export function list_entry(S: ListSpace, ptr: number, where: string): number {
  deref(S, ptr, where);
  if (S.head[ptr]) throw new KernelBug(`BUG: unable to handle kernel paging request (list_entry() of the list head ${S.name(ptr)})`, where, -1);
  return ptr;
}

/** entry->next, read without dereferencing it. */
export const listNextOf = (m: Uint8Array, S: ListSpace, node: number, where = 'list_next'): number => m[deref(S, node, where)];
/** entry->prev. */
export const listPrevOf = (m: Uint8Array, S: ListSpace, node: number, where = 'list_prev'): number => m[deref(S, node, where) + 1];

function setNext(m: Uint8Array, S: ListSpace, node: number, v: number, where: string): void {
  m[deref(S, node, where)] = v;
}
function setPrev(m: Uint8Array, S: ListSpace, node: number, v: number, where: string): void {
  m[deref(S, node, where) + 1] = v;
}

/** INIT_LIST_HEAD(list): WRITE_ONCE(list->next, list); list->prev = list. */
export function INIT_LIST_HEAD(m: Uint8Array, S: ListSpace, h: number): void {
  setNext(m, S, h, h, 'INIT_LIST_HEAD');
  setPrev(m, S, h, h, 'INIT_LIST_HEAD');
}

/** Write a node's pointers as the kernel's list_del() leaves them. */
export function poisonEntry(m: Uint8Array, S: ListSpace, node: number): void {
  setNext(m, S, node, LIST_POISON1, 'list_del');
  setPrev(m, S, node, LIST_POISON2, 'list_del');
}

/**
 * __list_add(new, prev, next) with CONFIG_DEBUG_LIST's checks (lib/list_debug.c,
 * v4.8: each a WARN, which the model reports as a kernel bug).
 */
function __list_add(m: Uint8Array, S: ListSpace, entry: number, prev: number, next: number, where: string): void {
  const nextPrev = listPrevOf(m, S, next, where);
  if (nextPrev !== prev) {
    throw new KernelBug(`list_add corruption. next->prev should be prev (${S.name(prev)}), but was ${S.name(nextPrev)}. (next=${S.name(next)})`, where, -1);
  }
  const prevNext = listNextOf(m, S, prev, where);
  if (prevNext !== next) {
    throw new KernelBug(`list_add corruption. prev->next should be next (${S.name(next)}), but was ${S.name(prevNext)}. (prev=${S.name(prev)})`, where, -1);
  }
  if (entry === prev || entry === next) {
    throw new KernelBug(`list_add double add: new=${S.name(entry)}, prev=${S.name(prev)}, next=${S.name(next)}`, where, -1);
  }
  setPrev(m, S, next, entry, where);
  setNext(m, S, entry, next, where);
  setPrev(m, S, entry, prev, where);
  setNext(m, S, prev, entry, where);
}

/** list_add(new, head): insert right after `head` (a stack). */
export function list_add(m: Uint8Array, S: ListSpace, entry: number, head: number, where = 'list_add'): void {
  __list_add(m, S, entry, head, listNextOf(m, S, head, where), where);
}

/** list_add_tail(new, head): insert right before `head` (a queue). */
export function list_add_tail(m: Uint8Array, S: ListSpace, entry: number, head: number, where = 'list_add_tail'): void {
  __list_add(m, S, entry, listPrevOf(m, S, head, where), head, where);
}

/**
 * __list_del_entry(entry) with CONFIG_DEBUG_LIST's checks (lib/list_debug.c, v4.8):
 * a poisoned entry or neighbours that do not point back are "list_del corruption".
 */
export function __list_del_entry(m: Uint8Array, S: ListSpace, entry: number, where = 'list_del'): void {
  const next = listNextOf(m, S, entry, where);
  const prev = listPrevOf(m, S, entry, where);
  if (next === LIST_POISON1) throw new KernelBug(`list_del corruption, ${S.name(entry)}->next is LIST_POISON1`, where, -1);
  if (prev === LIST_POISON2) throw new KernelBug(`list_del corruption, ${S.name(entry)}->prev is LIST_POISON2`, where, -1);
  const prevNext = listNextOf(m, S, prev, where);
  if (prevNext !== entry) {
    throw new KernelBug(`list_del corruption. prev->next should be ${S.name(entry)}, but was ${S.name(prevNext)}`, where, -1);
  }
  const nextPrev = listPrevOf(m, S, next, where);
  if (nextPrev !== entry) {
    throw new KernelBug(`list_del corruption. next->prev should be ${S.name(entry)}, but was ${S.name(nextPrev)}`, where, -1);
  }
  // __list_del(prev, next)
  setPrev(m, S, next, prev, where);
  setNext(m, S, prev, next, where);
}

/** list_del(entry): unlink, then poison the entry's pointers. */
export function list_del(m: Uint8Array, S: ListSpace, entry: number, where = 'list_del'): void {
  __list_del_entry(m, S, entry, where);
  poisonEntry(m, S, entry);
}

/** list_del_init(entry): unlink, then point the entry at itself. */
export function list_del_init(m: Uint8Array, S: ListSpace, entry: number, where = 'list_del_init'): void {
  __list_del_entry(m, S, entry, where);
  INIT_LIST_HEAD(m, S, entry);
}

/** list_move(list, head): delete from one list and add at the head of another. */
export function list_move(m: Uint8Array, S: ListSpace, entry: number, head: number, where = 'list_move'): void {
  __list_del_entry(m, S, entry, where);
  list_add(m, S, entry, head, where);
}

/** list_move_tail(list, head). */
export function list_move_tail(m: Uint8Array, S: ListSpace, entry: number, head: number, where = 'list_move_tail'): void {
  __list_del_entry(m, S, entry, where);
  list_add_tail(m, S, entry, head, where);
}

/** list_empty(head): READ_ONCE(head->next) == head. */
export const list_empty = (m: Uint8Array, S: ListSpace, head: number): boolean => listNextOf(m, S, head, 'list_empty') === head;

/** list_is_singular(head). */
export const list_is_singular = (m: Uint8Array, S: ListSpace, head: number): boolean =>
  !list_empty(m, S, head) && listNextOf(m, S, head) === listPrevOf(m, S, head);

/** __list_splice(list, prev, next): link list's entries between prev and next. */
function __list_splice(m: Uint8Array, S: ListSpace, list: number, prev: number, next: number, where: string): void {
  const first = listNextOf(m, S, list, where);
  const last = listPrevOf(m, S, list, where);
  setPrev(m, S, first, prev, where);
  setNext(m, S, prev, first, where);
  setNext(m, S, last, next, where);
  setPrev(m, S, next, last, where);
}

/** list_splice(list, head): join `list` (left as it is, stale) at the front of `head`. */
export function list_splice(m: Uint8Array, S: ListSpace, list: number, head: number, where = 'list_splice'): void {
  if (!list_empty(m, S, list)) __list_splice(m, S, list, head, listNextOf(m, S, head, where), where);
}

/** list_splice_tail(list, head). */
export function list_splice_tail(m: Uint8Array, S: ListSpace, list: number, head: number, where = 'list_splice_tail'): void {
  if (!list_empty(m, S, list)) __list_splice(m, S, list, listPrevOf(m, S, head, where), head, where);
}

/** list_splice_init(list, head): as list_splice, and `list` is reinitialised. */
export function list_splice_init(m: Uint8Array, S: ListSpace, list: number, head: number, where = 'list_splice_init'): void {
  if (!list_empty(m, S, list)) {
    __list_splice(m, S, list, head, listNextOf(m, S, head, where), where);
    INIT_LIST_HEAD(m, S, list);
  }
}

/** list_splice_tail_init(list, head). */
export function list_splice_tail_init(m: Uint8Array, S: ListSpace, list: number, head: number, where = 'list_splice_tail_init'): void {
  if (!list_empty(m, S, list)) {
    __list_splice(m, S, list, listPrevOf(m, S, head, where), head, where);
    INIT_LIST_HEAD(m, S, list);
  }
}

/**
 * The entries of `head` in list_for_each() order, for code that walks the list in one
 * step because every writer of the list holds the same lock (or the list is the
 * caller's own). A list that does not come back to its head within `bound` links is
 * corrupt; the kernel would spin there forever (a soft lockup), and so it is a bug.
 */
export function listEntries(m: Uint8Array, S: ListSpace, head: number, where = 'list_for_each', bound = 256): number[] {
  const out: number[] = [];
  for (let pos = listNextOf(m, S, head, where); pos !== head; pos = listNextOf(m, S, pos, where)) {
    if (out.length >= bound) throw new KernelBug(`watchdog: BUG: soft lockup (${S.name(head)} never comes back to its head)`, where, -1);
    out.push(pos);
  }
  return out;
}

/** list_first_entry_or_null(): the first entry's node, or LIST_NULL for an empty list. */
export function list_first_or_null(m: Uint8Array, S: ListSpace, head: number): number {
  const first = listNextOf(m, S, head, 'list_first_entry_or_null');
  return first === head ? LIST_NULL : first;
}

/**
 * Which list head an entry is linked into, found by following `next` pointers to the
 * first node that is a head; LIST_NULL for an entry that is unlinked (poisoned,
 * self-linked, or on no registered head within `bound` links). For properties and
 * traces: it reads the world and never oopses.
 */
export function headOf(m: Uint8Array, S: ListSpace, node: number, bound = 256): number {
  let pos = node;
  for (let i = 0; i <= bound; i++) {
    const at = S.at[pos];
    if (at < 0) return LIST_NULL;
    const next = m[at];
    if (next === node) return S.head[node] ? node : LIST_NULL;
    if (S.head[next]) return next;
    pos = next;
  }
  return LIST_NULL;
}

// ---------------------------------------------------------------------------
// Spaces by number: a step's params hold numbers only (src/kernel/program.ts), so a
// step that links pages names its world's ListSpace by the id internSpace() gave it.

const spaces: ListSpace[] = [];
const spaceIds = new Map<string, number>();

/**
 * The id of the space `key` names, built by `make` the first time: models built
 * twice from the same scope share one space (and one id), so ids stay the same from
 * run to run for the same command.
 */
export function internSpace(key: string, make: () => ListSpace): number {
  let id = spaceIds.get(key);
  if (id === undefined) {
    id = spaces.length;
    spaces.push(make());
    spaceIds.set(key, id);
  }
  return id;
}

/** The space registered under `id` by internSpace(). */
export const spaceOf = (id: number): ListSpace => spaces[id];
