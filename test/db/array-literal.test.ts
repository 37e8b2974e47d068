import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arrayLiteral } from '../../src/db/array-literal.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => db?.destroy());

const back = async (type: string, literal: string) =>
  (await db.dataSource.query(`SELECT v FROM unnest($1::${type}[]) WITH ORDINALITY AS t(v, n) ORDER BY n`, [literal])).map((r: { v: unknown }) => r.v);

describe('array literals', () => {
  it('bring every text back as it was: quotes, backslashes, separators, the word NULL, empty, and nulls', async () => {
    const values = ['plain', 'say "hi"', 'back\\slash', '\\"', 'a,b', '{x}', 'NULL', '', ' spaced ', 'é 😀 \u2028', null, undefined];
    expect(await back('text', arrayLiteral(values))).toEqual(values.map((v) => v ?? null));
  });

  it('bring any text back (property)', async () => {
    // NUL is the one character PostgreSQL text cannot hold.
    const text = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\u0000'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(text), { maxLength: 8 }), async (values) => {
        expect(await back('text', arrayLiteral(values))).toEqual(values);
      }),
      { numRuns: 100 },
    );
  });

  it('bring numbers and instants back, and an empty array is empty', async () => {
    expect((await back('bigint', arrayLiteral([0, -1, 2 ** 53 - 1, null]))).map((v: unknown) => (v === null ? null : Number(v)))).toEqual([0, -1, 2 ** 53 - 1, null]);
    expect((await back('float8', arrayLiteral([0.1, -2.5e-7, 1e21]))).map(Number)).toEqual([0.1, -2.5e-7, 1e21]);
    const at = new Date('2026-12-01T04:33:00.123Z');
    expect((await back('timestamptz', arrayLiteral([at])))[0].getTime()).toBe(at.getTime());
    expect(await back('text', arrayLiteral([]))).toEqual([]);
    const rows = [{ n: 1, s: 'a"b' }, { n: 2, s: null }];
    expect(arrayLiteral(rows, (r) => r.s)).toBe(arrayLiteral(rows.map((r) => r.s)));
    expect(await back('bigint', arrayLiteral(rows, (r) => r.n))).toEqual(['1', '2']);
  });

  it('refuse what they could only guess at, rather than write it as something else', () => {
    for (const v of [true, 10n, Buffer.from('x'), { a: 1 }]) expect(() => arrayLiteral([v as never])).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});
