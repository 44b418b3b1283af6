/** Every system pagerace knows, by name. */
import type { System } from '../src/system.ts';
import { nonlru } from './nonlru/index.ts';
import { balloon } from './balloon/index.ts';
import { zsmalloc } from './zsmalloc/index.ts';
import { contig } from './contig/index.ts';
import { reporting } from './reporting/index.ts';
import { lazy } from './lazy/index.ts';
import { unmovable } from './unmovable/index.ts';

export const SYSTEMS: readonly System[] = [nonlru, balloon, zsmalloc, contig, reporting, lazy, unmovable];

export function findSystem(name: string): System | undefined {
  return SYSTEMS.find((s) => s.name === name);
}
