/**
 * A compaction CPU (kcompactd-like, MIGRATE_SYNC_LIGHT): one pass of compact_zone()
 * over the driver's pages. isolate_migratepages_block() isolates onto the CPU's
 * private cc->migratepages, migrate_pages() migrates each page to a target from
 * cc->freepages (compaction_alloc) or gives it back, putback_movable_pages() returns
 * what is left, and release_freepages() frees unused targets (mm/compaction.c, v4.8).
 */
import { isolateMigratepagesBlock, releaseFreepages } from '../../src/kernel/compaction.ts';
import { type MigrateCtx, type MovableOps, migratePages, putbackMovablePages } from '../../src/kernel/migrate.ts';
import { ProgramBuilder } from '../../src/kernel/program.ts';
import type { NonlruLayout } from '../../properties/nonlru.ts';


/** Step labels of the CPU's program that variants change (the fragments' prefixes below). */
export const CPU_SCAN = 'scan';
export const CPU_ISOLATE = 'scan/isolate';
export const CPU_ISOLATE_CHECK = 'scan/isolate/check';
export const CPU_SCAN_NEXT = 'scan/next';
export const CPU_MIGRATE = 'migrate';
export const CPU_MIGRATE_RESULT = 'migrate/result';
/** migrate_pages()'s choice after a forced pass (src/kernel/migrate.ts). */
export const CPU_MIGRATE_FORCED = 'migrate/forced';
export const CPU_UAM_FREED = 'migrate/uam/freed';
export const CPU_UAM_PUTBACK = 'migrate/uam/putback';
export const CPU_PUTBACK = 'putback';
export const CPU_PUTBACK_LOCKED = 'putback/locked';

export function cpuProgram(lay: NonlruLayout, cpu: number, ops: MovableOps): ProgramBuilder {
  const b = new ProgramBuilder('cpu');
  const pfn = b.local('low_pfn');
  const ctx: MigrateCtx = {
    cpu,
    npages: lay.npages,
    lists: lay.lists,
    migrateList: lay.migrateList(cpu),
    freeList: lay.freeList(cpu),
    ops,
    slot: {
      page: b.local('page'),
      newpage: b.local('newpage'),
      rc: b.local('rc'),
      pass: b.local('pass'),
      retry: b.local('retry'),
      mtnpLru: b.local('is_lru'),
      next: b.local('page2'),
    },
  };
  isolateMigratepagesBlock(b, CPU_SCAN, ctx, pfn, lay.pages + lay.foreign, CPU_MIGRATE);
  migratePages(b, CPU_MIGRATE, ctx, CPU_PUTBACK);
  putbackMovablePages(b, CPU_PUTBACK, ctx, 'release');
  releaseFreepages(b, 'release', ctx, 'done');
  b.final('done');
  return b;
}
