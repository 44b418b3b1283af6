// Every property can fail (issue 9, item 5): each property name of every system, the
// built-in deadlock included, is the expected violation of at least one variant of a
// system that checks it. A property no variant breaks could be replaced by "always
// holds" without any test noticing.
import { describe, expect, it } from 'vitest';
import { SYSTEMS } from '../models/index.ts';
import { CRASH } from '../src/explore/check.ts';
import { LIVELOCK } from '../src/explore/liveness.ts';
import { DEADLOCK } from '../src/system.ts';

/**
 * The one property a system's own code cannot break: `uncaught-exception` says that
 * model code threw (a user's --driver file, in practice), which no port of the kernel
 * does on purpose. It is broken by a driver file in test/crash.test.ts instead.
 */
const BROKEN_BY_A_DRIVER_FILE: Readonly<Record<string, string>> = { [CRASH.name]: 'test/crash.test.ts (a --driver whose migratepage throws)' };

/** property name -> the systems that check it, and "system/variant" for each variant that breaks it. */
function table(): Map<string, { systems: string[]; brokenBy: string[] }> {
  const rows = new Map<string, { systems: string[]; brokenBy: string[] }>();
  for (const sys of SYSTEMS) {
    const scope = Object.fromEntries(Object.entries(sys.scope).map(([k, p]) => [k, p.default]));
    const names = [...sys.build(scope, null).properties.map((p) => p.name), DEADLOCK.name, LIVELOCK.name, CRASH.name];
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
    const driverFile = BROKEN_BY_A_DRIVER_FILE[name];
    if (driverFile) row.brokenBy.push(driverFile);
    it(`${name} (${row.systems.join(', ')}): ${row.brokenBy.join(', ') || 'NO VARIANT'}`, () => {
      expect(row.brokenBy, `property '${name}' is broken by no variant`).not.toEqual([]);
    });
  }
});
