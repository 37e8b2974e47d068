import { describe, expect, it } from 'vitest';
import { formatTlogProof, parseTlogProof } from '../../src/ledger/note/index.js';
import { thrownCodeOf } from '../support/codes.js';

const h = (b: number) => Buffer.alloc(32, b);
// A checkpoint note of its own contains a blank line (before its signatures).
const checkpoint = 'log.example/main\n3\nAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n\n\u2014 log.example AAAA\n';

const codeOf = (text: string) => thrownCodeOf(() => parseTlogProof(text));

describe('tlog-proof (c2sp.org/tlog-proof@v1)', () => {
  it('formats the header, extra, index and hashes, then a blank line and the checkpoint', () => {
    const text = formatTlogProof({ index: 5, hashes: [h(1), h(2)], extra: Buffer.from('{"e":1}'), checkpoint });
    expect(text).toBe(`c2sp.org/tlog-proof@v1\nextra ${Buffer.from('{"e":1}').toString('base64')}\nindex 5\n${h(1).toString('base64')}\n${h(2).toString('base64')}\n\n${checkpoint}`);
  });

  it('round-trips, with and without extra data, splitting at the first blank line', () => {
    const p = parseTlogProof(formatTlogProof({ index: 5, hashes: [h(1), h(2)], extra: Buffer.from('{"e":1}'), checkpoint }));
    expect(p.index).toBe(5);
    expect(p.hashes.map((x) => Buffer.from(x).toString('hex'))).toEqual([h(1).toString('hex'), h(2).toString('hex')]);
    expect(Buffer.from(p.extra!).toString()).toBe('{"e":1}');
    expect(p.checkpoint).toBe(checkpoint);
    const bare = parseTlogProof(formatTlogProof({ index: 0, hashes: [], checkpoint }));
    expect(bare).toEqual({ index: 0, hashes: [], extra: undefined, checkpoint });
  });

  it('takes the largest 16-digit index', () => {
    expect(parseTlogProof(`c2sp.org/tlog-proof@v1\nindex 9007199254740991\n\n${checkpoint}`).index).toBe(9007199254740991);
  });

  const hash = h(1).toString('base64');
  it.each([
    ['no blank line', `c2sp.org/tlog-proof@v1\nindex 0\n${hash}\n`],
    ['another header', `c2sp.org/tlog-proof@v2\nindex 0\n\n${checkpoint}`],
    ['no index line', `c2sp.org/tlog-proof@v1\n${hash}\n\n${checkpoint}`],
    ['an index with a leading zero', `c2sp.org/tlog-proof@v1\nindex 01\n\n${checkpoint}`],
    ['an index of 17 digits', `c2sp.org/tlog-proof@v1\nindex 10000000000000000\n\n${checkpoint}`],
    ['a 16-digit index past 2^53 - 1', `c2sp.org/tlog-proof@v1\nindex 9007199254740992\n\n${checkpoint}`],
    ['the largest 16-digit index', `c2sp.org/tlog-proof@v1\nindex 9999999999999999\n\n${checkpoint}`],
    ['a bare "extra" line', `c2sp.org/tlog-proof@v1\nextra\nindex 0\n\n${checkpoint}`],
    ['non-canonical extra', `c2sp.org/tlog-proof@v1\nextra AB==\nindex 0\n\n${checkpoint}`],
    ['a 31-byte hash', `c2sp.org/tlog-proof@v1\nindex 0\n${Buffer.alloc(31).toString('base64')}\n\n${checkpoint}`],
    ['a 33-byte hash', `c2sp.org/tlog-proof@v1\nindex 0\n${Buffer.alloc(33).toString('base64')}\n\n${checkpoint}`],
    ['a hash without its padding', `c2sp.org/tlog-proof@v1\nindex 0\n${hash.replace(/=$/, '')}\n\n${checkpoint}`],
    ['a hash with non-zero padding bits', `c2sp.org/tlog-proof@v1\nindex 0\n${hash.slice(0, -2)}F=\n\n${checkpoint}`],
  ])('refuses %s', (_label, text) => {
    expect(codeOf(text)).toBe('MALFORMED_NOTE');
  });
});
