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
  isolateMigratepagesBlock(b, 'scan', ctx, pfn, lay.pages, 'migrate');
  migratePages(b, 'migrate', ctx, 'putback');
  putbackMovablePages(b, 'putback', ctx, 'release');
  releaseFreepages(b, 'release', ctx, 'done');
  b.final('done');
  return b;
}
