// Every property can fail (issue 9, item 5): each property name of every system, the
// built-in deadlock included, is the expected violation of at least one variant of a
// system that checks it. A property no variant breaks could be replaced by "always
// holds" without any test noticing.
import { describe, expect, it } from 'vitest';
import { SYSTEMS } from '../models/index.ts';
import { DEADLOCK } from '../src/system.ts';

/** Systems whose properties belong to another engineer, who completes their rows. */
const OTHER_OWNERS: Readonly<Record<string, string>> = { contig: 'allocator engineer', reporting: 'allocator engineer' };

/** property name -> the systems that check it, and "system/variant" for each variant that breaks it. */
function table(): Map<string, { systems: string[]; brokenBy: string[] }> {
  const rows = new Map<string, { systems: string[]; brokenBy: string[] }>();
  for (const sys of SYSTEMS) {
    const scope = Object.fromEntries(Object.entries(sys.scope).map(([k, p]) => [k, p.default]));
    const names = [...sys.build(scope, null).properties.map((p) => p.name), DEADLOCK.name];
    for (const n of names) {
      const row = rows.get(n) ?? { systems: [], brokenBy: [] };
      row.systems.push(sys.name);
      rows.set(n, row);
    }
  }
  for (const sys of SYSTEMS) {
    for (const v of sys.variants) {
      const row = rows.get(v.expect.property);
      if (row && row.systems.includes(sys.name)) row.brokenBy.push(`${sys.name}/${v.name}`);
    }
  }
  return rows;
}

describe('every property is broken by some variant', () => {
  const rows = table();
  for (const [name, row] of [...rows].sort(([a], [b]) => a.localeCompare(b))) {
    const owner = row.systems.every((s) => OTHER_OWNERS[s]) ? OTHER_OWNERS[row.systems[0]] : null;
    it(`${name} (${row.systems.join(', ')}): ${row.brokenBy.join(', ') || owner || 'NO VARIANT'}`, () => {
      if (owner && row.brokenBy.length === 0) return; // listed for the coordinator to complete
      expect(row.brokenBy, `property '${name}' is broken by no variant`).not.toEqual([]);
    });
  }
});
