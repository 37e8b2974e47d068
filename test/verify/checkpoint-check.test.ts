import { describe, expect, it } from 'vitest';
import type { LedgerRow } from '../../src/ledger/entities/index.js';
import { formatCheckpoint, noteSignerFromSeed, signNote } from '../../src/ledger/note/index.js';
import { BLOCK_CLOCK_ALLOWANCE_MS } from '../../src/ledger/verify/block-check.js';
import { checkCheckpointBlock, checkCheckpointNote, parseTrustedKeys, type SignedHead, type VerifyCheckpointRow } from '../../src/ledger/verify/checkpoint-check.js';
import { IssueCollector } from '../../src/ledger/verify/issues.js';

const signer = noteSignerFromSeed('log.test', Buffer.alloc(32, 41));
const intruder = noteSignerFromSeed('log.test', Buffer.alloc(32, 42));
const keys = parseTrustedKeys([signer.verifierKey]);
const ledger = { origin: 'log.test/main', hashAlg: 'sha256' } as LedgerRow;
const root = Buffer.alloc(32, 3);
const blockHash = 'ab'.repeat(32);
const TIME = 1_700_000_000_000;

const body = (over: { origin?: string; treeSize?: number; extensions?: string[] } = {}) =>
  formatCheckpoint({
    origin: over.origin ?? ledger.origin,
    treeSize: over.treeSize ?? 5,
    rootHash: root,
    extensions: over.extensions ?? [`block 3 ${blockHash}`, `time ${TIME}`],
  });
const rowOf = (note: string, over: Partial<VerifyCheckpointRow> = {}): VerifyCheckpointRow => ({
  id: '7',
  tree_size: '5',
  root_hash: root,
  block_height: '3',
  timestamp_ms: String(TIME),
  note,
  ...over,
});

function check(row: VerifyCheckpointRow, trusted = keys, l = ledger) {
  const issues = new IssueCollector(100);
  const head = checkCheckpointNote(row, l, trusted, issues);
  return { head, issues: issues.issues };
}
const kinds = (issues: { kind: string }[]) => issues.map((i) => i.kind);

describe('checkCheckpointNote', () => {
  it('finds nothing wrong with a checkpoint signed by the trusted key that agrees with its row', () => {
    const { head, issues } = check(rowOf(signNote(body(), [signer])));
    expect(issues).toEqual([]);
    expect(head).toEqual({ id: 7, treeSize: 5, rootHash: root, blockHeight: 3, blockHash, timeMs: TIME });
  });

  it('reports a signature by the trusted key that does not verify', () => {
    const note = signNote(body(), [signer]);
    const at = note.lastIndexOf(' ') + 30;
    const flipped = note.slice(0, at) + (note[at] === 'A' ? 'B' : 'A') + note.slice(at + 1);
    expect(kinds(check(rowOf(flipped)).issues)).toEqual(['CHECKPOINT_SIGNATURE']);
  });

  it('reports a checkpoint no trusted key signed', () => {
    expect(kinds(check(rowOf(signNote(body(), [intruder]))).issues)).toEqual(['CHECKPOINT_SIGNATURE']);
  });

  it('ignores signatures by other keys, even under the trusted name or the trusted key hash, listed first', () => {
    const mine = signNote(body(), [signer]);
    const split = mine.lastIndexOf('\n\n') + 2;
    const other = signNote(body(), [intruder]).slice(split);
    // A line with another name that borrows the trusted key hash, over garbage.
    const borrowed = `\u2014 log.other ${Buffer.concat([signer.keyHash, Buffer.alloc(64, 9)]).toString('base64')}\n`;
    const note = mine.slice(0, split) + other + borrowed + mine.slice(split);
    expect(check(rowOf(note)).issues).toEqual([]);
  });

  it('checks every trusted key that signed, not just one', () => {
    const next = noteSignerFromSeed('log.test/next', Buffer.alloc(32, 43));
    const both = parseTrustedKeys([signer.verifierKey, next.verifierKey]);
    expect(check(rowOf(signNote(body(), [signer, next])), both).issues).toEqual([]);
    const note = signNote(body(), [next, signer]);
    const at = note.indexOf('\u2014') + 40;
    const bad = note.slice(0, at) + (note[at] === 'A' ? 'B' : 'A') + note.slice(at + 1);
    expect(kinds(check(rowOf(bad), both).issues)).toEqual(['CHECKPOINT_SIGNATURE']);
  });

  it.each([
    ['another origin', rowOf(signNote(body({ origin: 'log.test/other' }), [signer]))],
    ['another tree size in the row', rowOf(signNote(body(), [signer]), { tree_size: '6' })],
    ['another root in the row', rowOf(signNote(body(), [signer]), { root_hash: Buffer.alloc(32, 4) })],
    ['another block height in the row', rowOf(signNote(body(), [signer]), { block_height: '4' })],
    ['another time in the row', rowOf(signNote(body(), [signer]), { timestamp_ms: String(TIME + 1) })],
    ['two block lines', rowOf(signNote(body({ extensions: [`block 3 ${blockHash}`, `block 3 ${blockHash}`, `time ${TIME}`] }), [signer]))],
    ['no block line', rowOf(signNote(body({ extensions: [`time ${TIME}`] }), [signer]))],
    ['a block hash that is not 64 hex digits', rowOf(signNote(body({ extensions: [`block 3 ${blockHash}00`, `time ${TIME}`] }), [signer]))],
    ['two time lines', rowOf(signNote(body({ extensions: [`block 3 ${blockHash}`, `time ${TIME}`, `time ${TIME}`] }), [signer]))],
    ['no time line', rowOf(signNote(body({ extensions: [`block 3 ${blockHash}`] }), [signer]))],
    ['a hash line naming another tree hash', rowOf(signNote(body({ extensions: [`block 3 ${blockHash}`, `time ${TIME}`, 'hash blake3'] }), [signer]))],
  ])('reports %s as one malformed checkpoint', (_label, row) => {
    const { issues } = check(row);
    expect(kinds(issues)).toEqual(['CHECKPOINT_MALFORMED']);
    expect(issues[0]!.checkpointId).toBe(7);
  });

  it('a BLAKE3 ledger needs its checkpoints to say so', () => {
    const blake = { ...ledger, hashAlg: 'blake3' } as LedgerRow;
    expect(check(rowOf(signNote(body({ extensions: [`block 3 ${blockHash}`, `time ${TIME}`, 'hash blake3'] }), [signer])), keys, blake).issues).toEqual([]);
    expect(kinds(check(rowOf(signNote(body(), [signer])), keys, blake).issues)).toEqual(['CHECKPOINT_MALFORMED']);
  });

  it('gives the signed time, not the row\'s, when they differ', () => {
    const { head } = check(rowOf(signNote(body(), [signer]), { timestamp_ms: String(TIME + 5) }));
    expect(head!.timeMs).toBe(TIME);
  });

  it('gives the signed block, not the row\'s, when they differ', () => {
    const { head } = check(rowOf(signNote(body(), [signer]), { block_height: '4' }));
    expect(head).toMatchObject({ blockHeight: 3, blockHash });
  });
});

describe('checkCheckpointBlock', () => {
  const head: SignedHead = { id: 7, treeSize: 5, rootHash: root, blockHeight: 3, blockHash, timeMs: TIME };
  const block = { height: 3, hash: Buffer.from(blockHash, 'hex'), treeSize: 5, timestamp: TIME - 10 };
  const run = (b: typeof block | undefined) => {
    const issues = new IssueCollector(100);
    checkCheckpointBlock(head, b, issues);
    return issues.issues;
  };

  it('accepts the block the checkpoint names', () => {
    expect(run(block)).toEqual([]);
    expect(run({ ...block, timestamp: TIME + BLOCK_CLOCK_ALLOWANCE_MS })).toEqual([]);
  });

  it.each([
    ['no block', undefined],
    ['another height', { ...block, height: 4 }],
    ['another hash', { ...block, hash: Buffer.alloc(32, 0xcd) }],
    ['another tree size', { ...block, treeSize: 6 }],
  ])('reports %s', (_label, b) => {
    expect(kinds(run(b))).toEqual(['CHECKPOINT_MALFORMED']);
  });

  it('reports a block dated after the checkpoint that names it was signed', () => {
    const issues = run({ ...block, timestamp: TIME + BLOCK_CLOCK_ALLOWANCE_MS + 1 });
    expect(kinds(issues)).toEqual(['BLOCK_TIME']);
    expect(issues[0]!.blockHeight).toBe(3);
  });
});
