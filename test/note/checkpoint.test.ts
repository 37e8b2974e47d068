import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkpointHashAlg,
  formatCheckpoint,
  noteSignerFromSeed,
  parseCheckpoint,
  signNote,
  verifyNote,
} from '../../src/ledger/note/index.js';
import { thrownCodeOf } from '../support/codes.js';

// Any single line of note text: no newline, no control characters, no lone surrogates.
const line = fc
  .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
  .filter((s) => !/[\u0000-\u001f]/.test(s));

const checkpoint = fc.record({
  origin: line,
  treeSize: fc.maxSafeNat(),
  rootHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  extensions: fc.array(line, { maxLength: 3 }),
});

describe('checkpoint', () => {
  it('matches the C2SP example layout', () => {
    const rootHash = Buffer.from('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=', 'base64');
    const text = formatCheckpoint({ origin: 'example.com/behind-the-sofa', treeSize: 20852163, rootHash });
    expect(text).toBe('example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n');
  });

  it('round-trips format and parse', () => {
    fc.assert(
      fc.property(checkpoint, (c) => {
        const text = formatCheckpoint(c);
        const parsed = parseCheckpoint(text);
        expect(parsed.origin).toBe(c.origin);
        expect(parsed.treeSize).toBe(c.treeSize);
        expect(parsed.rootHash.equals(Buffer.from(c.rootHash))).toBe(true);
        expect(parsed.extensions).toEqual(c.extensions);
        expect(formatCheckpoint(parsed)).toBe(text);
      }),
    );
  });

  it('survives signing and verification', () => {
    const signer = noteSignerFromSeed('example.com/log', new Uint8Array(32).fill(7));
    const text = formatCheckpoint({ origin: 'example.com/log', treeSize: 0, rootHash: new Uint8Array(32) });
    const { text: verified } = verifyNote(signNote(text, [signer]), [signer.verifierKey]);
    expect(parseCheckpoint(verified).treeSize).toBe(0);
  });

  const root = Buffer.alloc(32, 1).toString('base64');
  it.each([
    ['empty text', ''],
    ['missing final newline', `o\n1\n${root}`],
    ['missing final newline after an extension', `o\n1\n${root}\nab`],
    ['too few lines', 'o\n1\n'],
    ['empty origin', `\n1\n${root}\n`],
    ['leading zero', `o\n01\n${root}\n`],
    ['signed size', `o\n+1\n${root}\n`],
    ['negative size', `o\n-1\n${root}\n`],
    ['non-decimal size', `o\n0x10\n${root}\n`],
    ['size with spaces', `o\n 1\n${root}\n`],
    ['unsafe size', `o\n9007199254740992\n${root}\n`],
    ['bad base64 root', `o\n1\n${root.slice(1)}\n`],
    ['short root', `o\n1\n${Buffer.alloc(31).toString('base64')}\n`],
    ['empty extension', `o\n1\n${root}\n\n`],
    ['empty extension between others', `o\n1\n${root}\na\n\nb\n`],
    ['control character', `o\t\n1\n${root}\n`],
  ])('rejects %s', (_label, text) => {
    expect(thrownCodeOf(() => parseCheckpoint(text))).toBe('MALFORMED_CHECKPOINT');
  });

  it('refuses to format invalid checkpoints', () => {
    const rootHash = new Uint8Array(32);
    for (const c of [
      { origin: '', treeSize: 1, rootHash },
      { origin: 'a\nb', treeSize: 1, rootHash },
      { origin: 'o', treeSize: -1, rootHash },
      { origin: 'o', treeSize: 1.5, rootHash },
      { origin: 'o', treeSize: 1, rootHash: new Uint8Array(31) },
      { origin: 'o', treeSize: 1, rootHash, extensions: [''] },
      { origin: 'o', treeSize: 1, rootHash, extensions: ['a\nb'] },
    ]) {
      expect(thrownCodeOf(() => formatCheckpoint(c))).toBe('MALFORMED_CHECKPOINT');
    }
  });
});

describe('checkpointHashAlg', () => {
  it('reads the algorithm a "hash" line names, SHA-256 when none does', () => {
    expect(checkpointHashAlg([])).toBe('sha256');
    expect(checkpointHashAlg(['block 3 ab', 'hash blake3'])).toBe('blake3');
    expect(checkpointHashAlg(['hash sha256'])).toBe('sha256');
  });

  it('ignores lines that only begin with "hash"', () => {
    expect(checkpointHashAlg(['hashes 4', 'hashblake3'])).toBe('sha256');
  });

  it('gives null when two lines name an algorithm, even the same one', () => {
    expect(checkpointHashAlg(['hash blake3', 'hash sha256'])).toBeNull();
    expect(checkpointHashAlg(['hash blake3', 'time 1', 'hash blake3'])).toBeNull();
  });
});

describe('parseCheckpoint canonical encoding', () => {
  it('refuses a root whose base64 has non-zero padding bits, though it decodes to the same bytes', () => {
    const good = Buffer.alloc(32, 1).toString('base64');
    const sloppy = `${good.slice(0, -2)}F=`;
    expect(Buffer.from(sloppy, 'base64').equals(Buffer.alloc(32, 1))).toBe(true);
    expect(parseCheckpoint(`o\n1\n${good}\n`).treeSize).toBe(1);
    expect(thrownCodeOf(() => parseCheckpoint(`o\n1\n${sloppy}\n`))).toBe('MALFORMED_CHECKPOINT');
  });

  it('refuses a 33-byte root', () => {
    expect(thrownCodeOf(() => parseCheckpoint(`o\n1\n${Buffer.alloc(33).toString('base64')}\n`))).toBe('MALFORMED_CHECKPOINT');
  });

  it('refuses a vertical tab in a line', () => {
    expect(thrownCodeOf(() => parseCheckpoint(`o\u000bx\n1\n${Buffer.alloc(32).toString('base64')}\n`))).toBe('MALFORMED_CHECKPOINT');
  });
});
