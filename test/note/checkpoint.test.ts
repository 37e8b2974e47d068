import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatCheckpoint,
  NoteError,
  noteSignerFromSeed,
  parseCheckpoint,
  signNote,
  verifyNote,
} from '../../src/ledger/note/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof NoteError) return e.code;
    throw e;
  }
  return undefined;
}

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
    expect(codeOf(() => parseCheckpoint(text))).toBe('MALFORMED_CHECKPOINT');
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
      expect(codeOf(() => formatCheckpoint(c))).toBe('MALFORMED_CHECKPOINT');
    }
  });
});
