import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  blockHash,
  canonicalHeader,
  GENESIS_PREVIOUS_HASH,
  leadingZeroBits,
  meetsDifficulty,
  type BlockHeader,
} from '../../src/ledger/blocks/index.js';
import { HEADER_SERIALIZER_SOURCE } from '../../src/ledger/blocks/mine-worker.js';

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
// Roots are free-form strings in the header type: cover escapes, controls and astral characters.
const anyString = fc.oneof(hex64, fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));

const arbHeader: fc.Arbitrary<BlockHeader> = fc.record({
  height: fc.maxSafeNat(),
  previousHash: hex64,
  eventsRoot: anyString,
  treeSize: fc.maxSafeNat(),
  treeRoot: anyString,
  timestamp: fc.maxSafeNat(),
  difficulty: fc.integer({ min: 0, max: 256 }),
  nonce: fc.maxSafeNat(),
});

// The exact code string the worker evaluates, run here on the main thread.
const headerTemplateParts = new Function(`${HEADER_SERIALIZER_SOURCE}; return headerTemplateParts;`)() as (
  t: Omit<BlockHeader, 'nonce'>,
) => [string, string];

describe('leadingZeroBits', () => {
  it.each([
    [[], 0],
    [[0x80], 0],
    [[0x7f], 1],
    [[0x01], 7],
    [[0x00], 8],
    [[0x00, 0x00, 0x00], 24],
    [[0x00, 0x01, 0xff], 15],
    [[0x00, 0x00, 0x10, 0x00], 19],
    [[0x0f, 0x00], 4],
  ])('%j has %i leading zero bits', (bytes, bits) => {
    expect(leadingZeroBits(Uint8Array.from(bytes))).toBe(bits);
  });

  it('counts a whole zero hash', () => {
    expect(leadingZeroBits(new Uint8Array(32))).toBe(256);
  });

  it('meetsDifficulty compares against the target', () => {
    const h = Uint8Array.from([0x00, 0x0f, 0xff]);
    expect(meetsDifficulty(h, 0)).toBe(true);
    expect(meetsDifficulty(h, 12)).toBe(true);
    expect(meetsDifficulty(h, 13)).toBe(false);
    expect(() => meetsDifficulty(h, -1)).toThrow(RangeError);
    expect(() => meetsDifficulty(h, 1.5)).toThrow(RangeError);
  });
});

describe('canonicalHeader', () => {
  const header: BlockHeader = {
    height: 0,
    previousHash: GENESIS_PREVIOUS_HASH,
    eventsRoot: 'e'.repeat(64),
    treeSize: 0,
    treeRoot: 'f'.repeat(64),
    timestamp: 1_700_000_000_000,
    difficulty: 8,
    nonce: 42,
  };

  it('is JCS with sorted keys', () => {
    expect(canonicalHeader(header).toString()).toBe(
      `{"difficulty":8,"eventsRoot":"${'e'.repeat(64)}","height":0,"nonce":42,` +
        `"previousHash":"${'0'.repeat(64)}","timestamp":1700000000000,"treeRoot":"${'f'.repeat(64)}","treeSize":0}`,
    );
  });

  it('ignores extra properties', () => {
    const withExtra = { ...header, id: 'db-row-7' } as BlockHeader;
    expect(canonicalHeader(withExtra).equals(canonicalHeader(header))).toBe(true);
  });

  it('hashes the canonical bytes with SHA-256', () => {
    const expected = createHash('sha256').update(canonicalHeader(header)).digest();
    expect(blockHash(header).equals(expected)).toBe(true);
    expect(blockHash({ ...header, nonce: 43 }).equals(expected)).toBe(false);
  });

  it.each([
    ['fractional height', { height: 1.5 }],
    ['negative treeSize', { treeSize: -1 }],
    ['unsafe timestamp', { timestamp: 2 ** 53 }],
    ['NaN nonce', { nonce: Number.NaN }],
    ['negative nonce', { nonce: -1 }],
    ['difficulty above 256', { difficulty: 257 }],
    ['uppercase previousHash', { previousHash: 'A'.repeat(64) }],
    ['short previousHash', { previousHash: '0'.repeat(63) }],
    ['non-string root', { treeRoot: 5 as unknown as string }],
    ['lone surrogate in a root', { eventsRoot: 'x\ud800' }],
  ])('rejects %s', (_label, patch) => {
    expect(() => canonicalHeader({ ...header, ...patch })).toThrow();
  });

  it('accepts every difficulty a SHA-256 digest can meet, up to all 256 bits', () => {
    expect(() => canonicalHeader({ ...header, difficulty: 256 })).not.toThrow();
    expect(() => canonicalHeader({ ...header, difficulty: 0, height: 0, treeSize: 0, timestamp: 0, nonce: 0 })).not.toThrow();
  });

  it('worker serializer reproduces JCS for random headers', () => {
    fc.assert(
      fc.property(arbHeader, (h) => {
        const [prefix, suffix] = headerTemplateParts(h);
        const jcs = canonicalize({ ...h });
        expect(prefix + String(h.nonce) + suffix).toBe(jcs);
        expect(canonicalHeader(h).toString('utf8')).toBe(jcs);
      }),
      { numRuns: 500 },
    );
  });
});
