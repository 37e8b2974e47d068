import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryArray, type ElementType } from '../../src/db/binary-array.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => db?.destroy());

const SQL_TYPE: Record<ElementType, string> = {
  text: 'text', int2: 'smallint', int4: 'integer', int8: 'bigint', float8: 'float8', timestamptz: 'timestamptz', bytea: 'bytea', hex: 'bytea',
};

/** The array as PostgreSQL reads it back, element by element, in order. */
const back = async (type: ElementType, array: Buffer): Promise<unknown[]> =>
  (await db.dataSource.query(`SELECT v FROM unnest($1::${SQL_TYPE[type]}[]) WITH ORDINALITY AS t(v, n) ORDER BY n`, [array])).map(
    (r: { v: unknown }) => r.v,
  );

describe('binary arrays', () => {
  it('bring every text back as it was: quotes, separators, the word NULL, empty, astral, and nulls', async () => {
    const values = ['plain', 'say "hi"', 'back\\slash', 'a,b', '{x}', 'NULL', '', ' spaced ', 'é 😀 \u2028', null, undefined];
    expect(await back('text', binaryArray('text', values))).toEqual(values.map((v) => v ?? null));
  });

  it('bring any text back (property)', async () => {
    // NUL is the one character PostgreSQL text cannot hold.
    const text = fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\u0000'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(text), { maxLength: 8 }), async (values) => {
        expect(await back('text', binaryArray('text', values))).toEqual(values);
      }),
      { numRuns: 100 },
    );
  });

  it('bring any safe integer back as int8, and any float8 exactly (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(fc.maxSafeInteger()), { maxLength: 8 }), fc.array(fc.double(), { maxLength: 8 }), async (ints, floats) => {
        expect((await back('int8', binaryArray('int8', ints))).map((v) => (v === null ? null : Number(v)))).toEqual(ints);
        expect(await back('float8', binaryArray('float8', floats))).toEqual(floats);
      }),
      { numRuns: 100 },
    );
    const edges = [0, -1, 1, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    expect(await back('int8', binaryArray('int8', edges))).toEqual(edges.map(String));
    expect(Object.is((await back('float8', binaryArray('float8', [-0])))[0], -0)).toBe(true);
  });

  it('bring small integers, instants and bytes back, and an empty array is empty', async () => {
    expect(await back('int2', binaryArray('int2', [-32768, 0, 32767, null]))).toEqual([-32768, 0, 32767, null]);
    expect(await back('int4', binaryArray('int4', [-(2 ** 31), 7, 2 ** 31 - 1]))).toEqual([-(2 ** 31), 7, 2 ** 31 - 1]);
    const instants = [new Date('2026-12-01T04:33:00.123Z'), new Date('1999-12-31T23:59:59.999Z'), new Date(0)];
    expect((await back('timestamptz', binaryArray('timestamptz', instants))).map((d) => (d as Date).getTime())).toEqual(instants.map((d) => d.getTime()));
    const bytes = [Buffer.from('first'), null, Buffer.alloc(0), Uint8Array.of(0, 1, 255), Buffer.alloc(70_000, 7)];
    expect((await back('bytea', binaryArray('bytea', bytes))).map((v) => (v === null ? null : Buffer.from(v as Uint8Array).toString('hex')))).toEqual(
      bytes.map((v) => (v === null ? null : Buffer.from(v).toString('hex'))),
    );
    const hex = ['00ff', '', 'ABCdef', null];
    expect((await back('hex', binaryArray('hex', hex))).map((v) => (v === null ? null : (v as Buffer).toString('hex')))).toEqual(['00ff', '', 'abcdef', null]);
    for (const type of Object.keys(SQL_TYPE) as ElementType[]) expect(await back(type, binaryArray(type, []))).toEqual([]);
  });

  it('picks a column from rows, the same as from the column itself', () => {
    const rows = [{ n: 1, s: 'a' }, { n: 2, s: null }];
    expect(binaryArray('text', rows, (r) => r.s)).toEqual(binaryArray('text', rows.map((r) => r.s)));
    expect(binaryArray('int8', rows, (r) => r.n)).toEqual(binaryArray('int8', [1, 2]));
  });

  it('refuse what they could only guess at, rather than write it as something else', () => {
    const refused: Array<[ElementType, unknown]> = [
      ['text', 5], ['int2', 32768], ['int4', 1.5], ['int4', 2 ** 31], ['int8', 2 ** 53], ['int8', '7'], ['float8', '1'],
      ['timestamptz', new Date(Number.NaN)], ['timestamptz', 0], ['bytea', 'ab'], ['hex', 'abc'], ['hex', 'zz'], ['hex', '00zz'],
    ];
    for (const [type, v] of refused) expect(() => binaryArray(type, [v as never]), `${type} ${String(v)}`).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});
