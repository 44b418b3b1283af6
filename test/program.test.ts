// Variants are data about the code (issue 9, item 6): guards built with and() follow
// a replaced part by name, and a replacement that breaks a local step's contract is
// refused when the model is built, with one line.
import { describe, expect, it } from 'vitest';
import { ProgramBuilder, STEP, br } from '../src/kernel/program.ts';
import { nonlru } from '../models/nonlru/index.ts';
import { NONLRU_VARIANTS } from '../models/nonlru/variants.ts';
import { BALLOON_VARIANTS } from '../models/balloon/variants.ts';
import { ZSMALLOC_VARIANTS } from '../models/zsmalloc/variants.ts';
import { MIGRATE_TAKE_CURSOR } from '../src/kernel/migrate.ts';

function tiny(): ProgramBuilder {
  const b = new ProgramBuilder('t');
  const x = b.local('x');
  const a = b.g('a', (m, L) => m[L + x] === 1);
  const c = b.g('c', () => true);
  b.steps('s', 'f', 'a && c', [br('done', [], b.and(a, c)), br('done')]);
  b.localStep('l', 'f', 'x = 1', [br('done', [b.a('x = 1', (m, L) => { m[L + x] = 1; })])]);
  b.final('done');
  return b;
}

describe('ProgramBuilder', () => {
  it('resolves and() by the names of its parts when the program is validated', () => {
    const b = tiny();
    const m = new Uint8Array([1]);
    b.validate();
    expect(b.guards['a && c'](m, 0, {}, 0)).toBe(true);
    b.replaceGuard('a', () => false);
    b.validate();
    expect(b.guards['a && c'](m, 0, {}, 0)).toBe(false);
  });

  it('refuses, in one line, a local step replaced with an action not declared local', () => {
    const b = tiny();
    const shared = b.a('write the world', (m) => { m[0] = 9; });
    expect(() => b.replace('l', { [STEP]: [br('done', [shared])] })).toThrow(/^program t: step 'l' is local; action 'write the world' is not declared local/);
    expect(() => b.replace('l', { [STEP]: [br('done', [], b.g('always', () => true))] })).toThrow(/is local; a replacement may not block/);
    expect(() => b.replaceAction('x = 1', () => {})).toThrow(/runs in a local step; its replacement must be declared local/);
    b.replaceAction('x = 1', () => {}, { local: true });
  });

  it('refuses a variant whose replacement breaks a local step when the model is built', () => {
    const v = NONLRU_VARIANTS.find((x) => x.name === 'migrate-walk-unsafe')!;
    const cpu = v.patch.cpu!;
    // The same patch, without declaring its replacement local.
    const bad = { ...v, patch: { cpu: (b: ProgramBuilder, c: number, lay: never) => { b.replaceAction(MIGRATE_TAKE_CURSOR, () => {}); cpu(b, c, lay); } } };
    const saved = NONLRU_VARIANTS.indexOf(v);
    (NONLRU_VARIANTS as unknown as typeof bad[])[saved] = bad;
    try {
      expect(() => nonlru.build({ cpus: 1, pages: 1 }, 'migrate-walk-unsafe')).toThrow(/^program cpu: action 'page = cursor; page2 = page->lru.next' runs in a local step/);
    } finally {
      (NONLRU_VARIANTS as unknown as typeof v[])[saved] = v;
    }
  });

  it('every variant of nonlru, balloon and zsmalloc names the function it changes and its source', () => {
    for (const v of [...NONLRU_VARIANTS, ...BALLOON_VARIANTS, ...ZSMALLOC_VARIANTS]) {
      expect(v.kernelFunction, v.name).toMatch(/\S/);
      expect(v.source, v.name).toMatch(/\S/);
    }
  });
});
