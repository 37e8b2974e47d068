import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesAt, hashAt, packBytes, packHashes } from '../../src/db/packed-bytes.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

let db: TestDatabase;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => db?.destroy());

describe('packed hashes', () => {
  it('packs 32-byte hashes end to end, in order, and SQL takes them apart', async () => {
    const hashes = [sha('a'), sha('b'), sha('c')];
    const packed = packHashes(hashes);
    expect(packed).toHaveLength(96);
    expect(packHashes([])).toHaveLength(0);
    const rows: Array<{ h: string }> = await db.dataSource.query(
      `SELECT encode(${hashAt('$1', 'i')}, 'hex') AS h FROM generate_series(1, 3) AS i ORDER BY i`,
      [packed],
    );
    expect(rows.map((r) => r.h)).toEqual(hashes);
  });

  it('refuses a hash that is not 64 hex digits rather than shift the ones after it', () => {
    for (const bad of [sha('a').slice(1), `${sha('a').slice(0, 63)}g`, `${sha('a')}00`]) {
      expect(() => packHashes([bad, sha('b')])).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    }
    // A short one and a long one add up to the right length.
    expect(() => packHashes([sha('a').slice(2), `${sha('b')}00`])).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});

describe('packed bytes', () => {
  it('gives each value back from SQL: any length, empty, and null', async () => {
    const values = [Buffer.from('first'), null, Buffer.alloc(0), Buffer.from([0, 1, 2, 255]), Buffer.alloc(70_000, 7)];
    const p = packBytes(values);
    const rows: Array<{ v: Buffer | Uint8Array | null }> = await db.dataSource.query(
      `SELECT ${bytesAt('$1', 'x.at', 'x.len')} AS v FROM unnest($2::int[], $3::int[]) WITH ORDINALITY AS x(at, len, n) ORDER BY n`,
      [p.bytes, p.at, p.length],
    );
    expect(rows.map((r) => (r.v === null ? null : Buffer.from(r.v)))).toEqual(values);
  });
});
