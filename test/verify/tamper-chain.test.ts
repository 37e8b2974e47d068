import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { blockHash, headerOfStored, meetsDifficulty, type BlockTemplate } from '../../src/ledger/blocks/index.js';
import type { BlockRow, CheckpointRow } from '../../src/ledger/entities/index.js';
import { formatCheckpoint, openNote, parseCheckpoint, signNote } from '../../src/ledger/note/index.js';
import { QUICK_TAIL } from '../../src/ledger/verify/quick.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { buildLedger, expectIssue, expectValid, randomHash, tamper } from './support.js';

/** Blocks, checkpoints, tree nodes and the head. Each test builds and tampers with its own ledger. */
describe('verification finds a tampered chain', () => {
  let t: TestLedger;
  beforeAll(async () => {
    t = await openTestLedger();
  });
  afterAll(async () => {
    await t?.close();
  });
  const ds = () => t.db.dataSource;
  const verify = (name: string, full: boolean) => t.service.verify(name, full);

  /** A rewritten header mined again, as a forger with the hash power would: its nonce and hash. */
  function mine(header: BlockTemplate): { nonce: number; hash: Buffer } {
    for (let nonce = 0; ; nonce++) {
      const hash = blockHash({ ...header, nonce });
      if (meetsDifficulty(hash, header.difficulty)) return { nonce, hash };
    }
  }

  async function blocksOf(ledgerId: number): Promise<BlockRow[]> {
    const rows = await ds().query(`SELECT * FROM blocks WHERE ledger_id = $1 ORDER BY height`, [ledgerId]);
    return rows.map((r: any) => ({
      height: Number(r.height),
      hash: r.hash,
      previousHash: r.previous_hash,
      eventsRoot: r.events_root,
      startIndex: Number(r.start_index),
      treeSize: Number(r.tree_size),
      treeRoot: r.tree_root,
      timestampMs: Number(r.timestamp_ms),
      difficulty: r.difficulty,
      nonce: Number(r.nonce),
    })) as BlockRow[];
  }

  async function checkpointsOf(ledgerId: number): Promise<CheckpointRow[]> {
    const rows = await ds().query(`SELECT * FROM checkpoints WHERE ledger_id = $1 ORDER BY tree_size, id`, [ledgerId]);
    return rows.map((r: any) => ({ ...r, id: Number(r.id), treeSize: Number(r.tree_size), rootHash: r.root_hash })) as CheckpointRow[];
  }

  const setBlock = (ledgerId: number, height: number, column: string, value: unknown) =>
    tamper(ds(), [`UPDATE blocks SET ${column} = $3 WHERE ledger_id = $1 AND height = $2`, [ledgerId, height, value]]);

  it('a broken block link', async () => {
    const { ledger } = await buildLedger(t.service, 'link');
    const blocks = await blocksOf(ledger.id);
    const mid = blocks[4]!.height;
    const last = blocks[blocks.length - 1]!.height;
    await setBlock(ledger.id, mid, 'previous_hash', randomHash());
    await setBlock(ledger.id, last, 'previous_hash', randomHash());
    const full = await verify('link', true);
    expectIssue(full, 'BLOCK_LINK', { blockHeight: mid });
    expectIssue(full, 'BLOCK_LINK', { blockHeight: last });
    expectIssue(await verify('link', false), 'BLOCK_LINK', { blockHeight: last });
  });

  it('a deleted block', async () => {
    const { ledger } = await buildLedger(t.service, 'noblock');
    await tamper(ds(), [`DELETE FROM blocks WHERE ledger_id = $1 AND height = 3`, [ledger.id]]);
    const full = await verify('noblock', true);
    expectIssue(full, 'BLOCK_LINK', { blockHeight: 4 });
    expectIssue(full, 'BLOCK_RANGE', { blockHeight: 4 });
  });

  it('a deleted block, the next one linked and mined again over it', async () => {
    const { ledger } = await buildLedger(t.service, 'relinked');
    const blocks = await blocksOf(ledger.id);
    const next = blocks[4]!;
    const header = { ...headerOfStored(next), previousHash: blocks[2]!.hash.toString('hex') };
    const { nonce, hash } = mine(header);
    await tamper(
      ds(),
      [`DELETE FROM blocks WHERE ledger_id = $1 AND height = 3`, [ledger.id]],
      [`UPDATE blocks SET previous_hash = $3, nonce = $4, hash = $5 WHERE ledger_id = $1 AND height = $2`, [ledger.id, 4, blocks[2]!.hash, nonce, hash]],
    );
    const full = await verify('relinked', true);
    expect(full.issues.filter((i) => i.kind === 'BLOCK_LINK' && i.blockHeight === 4).map((i) => i.message)).toEqual(['block 4 follows block 2: block 3 is missing']);
  });

  it('a bad nonce (proof of work)', async () => {
    const { ledger } = await buildLedger(t.service, 'nonce');
    const blocks = await blocksOf(ledger.id);
    const failing = (b: BlockRow) => {
      for (let nonce = 0; ; nonce++) {
        const hash = blockHash({ ...headerOfStored(b), nonce });
        if (!meetsDifficulty(hash, b.difficulty)) return nonce;
      }
    };
    const mid = blocks[3]!;
    const last = blocks[blocks.length - 1]!;
    await setBlock(ledger.id, mid.height, 'nonce', failing(mid));
    await setBlock(ledger.id, last.height, 'nonce', failing(last));
    const full = await verify('nonce', true);
    expectIssue(full, 'BLOCK_POW', { blockHeight: mid.height });
    expectIssue(full, 'BLOCK_POW', { blockHeight: last.height });
    expectIssue(await verify('nonce', false), 'BLOCK_POW', { blockHeight: last.height });
  });

  /**
   * A ledger whose newest block lies after its last checkpoint, so no signature covers it and a
   * rewrite shows only in its header; `redate` mines that block again under another timestamp.
   */
  async function unsignedNewestBlock(name: string) {
    const { ledger } = await buildLedger(t.service, name);
    const before = await blocksOf(ledger.id);
    await t.service.append(name, [{ type: 'ThingHappened', actor: 'user:late', payload: {} }]);
    await vi.waitFor(async () => expect((await blocksOf(ledger.id)).length).toBe(before.length + 1), { timeout: 10_000, interval: 20 });
    const [prev, last] = (await blocksOf(ledger.id)).slice(-2) as [BlockRow, BlockRow];
    const redate = async (timestamp: number) => {
      const { nonce, hash } = mine({ ...headerOfStored(last), timestamp });
      await tamper(ds(), [
        `UPDATE blocks SET timestamp_ms = $3, nonce = $4, hash = $5 WHERE ledger_id = $1 AND height = $2`,
        [ledger.id, last.height, timestamp, nonce, hash],
      ]);
    };
    return { prev, last, redate };
  }

  it('a block dated before the one it follows, honestly mined', async () => {
    const { prev, last, redate } = await unsignedNewestBlock('backdated');
    await redate(prev.timestampMs - 1);
    for (const full of [true, false]) {
      const report = await verify('backdated', full);
      expectIssue(report, 'BLOCK_TIME', { blockHeight: last.height });
      expect(report.issues).toHaveLength(1);
    }
  });

  it('a block dated the same millisecond as the one it follows is fine', async () => {
    const { prev, redate } = await unsignedNewestBlock('samems');
    await redate(prev.timestampMs);
    for (const full of [true, false]) expectValid(await verify('samems', full));
  });

  it('a block dated ahead of the verifier\'s clock, honestly mined', async () => {
    const { last, redate } = await unsignedNewestBlock('latedated');
    // Within the allowance: clocks of processes sharing a database differ a little.
    await redate(Date.now() + 4 * 60_000);
    for (const full of [true, false]) expectValid(await verify('latedated', full));
    await redate(Date.now() + 6 * 60_000);
    for (const full of [true, false]) {
      const report = await verify('latedated', full);
      expectIssue(report, 'BLOCK_TIME', { blockHeight: last.height });
      expect(report.issues).toHaveLength(1);
      expect(report.issues[0]!.message).toMatch(/ms after this verifier's clock/);
    }
  });

  it('a block dated after the signed time of the checkpoint that names it', async () => {
    const { ledger } = await buildLedger(t.service, 'cptime');
    const cp = (await checkpointsOf(ledger.id)).at(-1)!;
    const block = (await blocksOf(ledger.id)).find((b) => b.treeSize === cp.treeSize)!;
    // A checkpoint signed by a clock 6 minutes behind the one that dated its block.
    const resign = async (timeMs: number) => {
      const body = parseCheckpoint(openNote(cp.note).text);
      const extensions = body.extensions.map((l) => (l.startsWith('time ') ? `time ${timeMs}` : l));
      const note = signNote(formatCheckpoint({ ...body, extensions }), [t.service.serverKey!.note]);
      await tamper(ds(), [`UPDATE checkpoints SET note = $2, timestamp_ms = $3 WHERE id = $1`, [cp.id, note, timeMs]]);
    };
    await resign(block.timestampMs - 4 * 60_000);
    for (const full of [true, false]) expectValid(await verify('cptime', full));
    await resign(block.timestampMs - 6 * 60_000);
    for (const full of [true, false]) {
      const report = await verify('cptime', full);
      expectIssue(report, 'BLOCK_TIME', { blockHeight: block.height });
      expect(report.issues).toHaveLength(1);
      expect(report.issues[0]!.message).toMatch(new RegExp(`after the time checkpoint ${cp.id} that names it was signed`));
    }
  });

  it('a wrong difficulty, honestly mined', async () => {
    const { ledger } = await buildLedger(t.service, 'difficulty');
    const b = (await blocksOf(ledger.id))[2]!;
    const header = { ...headerOfStored(b), difficulty: 0 };
    const hash = blockHash({ ...header, nonce: 0 });
    await tamper(ds(), [
      `UPDATE blocks SET difficulty = 0, nonce = 0, hash = $3 WHERE ledger_id = $1 AND height = $2`,
      [ledger.id, b.height, hash],
    ]);
    const full = await verify('difficulty', true);
    expectIssue(full, 'BLOCK_DIFFICULTY', { blockHeight: b.height });
    expect(full.issues.some((i) => i.kind === 'BLOCK_POW' || i.kind === 'BLOCK_HASH')).toBe(false);
  });

  it('the first block with a wrong difficulty, honestly mined', async () => {
    const { ledger } = await buildLedger(t.service, 'difficulty0');
    const b = (await blocksOf(ledger.id))[0]!;
    const header = { ...headerOfStored(b), difficulty: b.difficulty + 1 };
    const { nonce, hash } = mine(header);
    await tamper(ds(), [
      `UPDATE blocks SET difficulty = $3, nonce = $4, hash = $5 WHERE ledger_id = $1 AND height = $2`,
      [ledger.id, 0, header.difficulty, nonce, hash],
    ]);
    const full = await verify('difficulty0', true);
    expectIssue(full, 'BLOCK_DIFFICULTY', { blockHeight: 0 });
    expect(full.issues.some((i) => (i.kind === 'BLOCK_POW' || i.kind === 'BLOCK_HASH') && i.blockHeight === 0)).toBe(false);
  });

  it('a wrong difficulty at a retarget height, on blocks mined under a longer window than the ledger now has', async () => {
    const { ledger } = await buildLedger(t.service, 'longwindow', { retargetBlocks: 4 });
    const blocks = await blocksOf(ledger.id);
    // Governance has since shortened the window: the blocks still name the one they were mined under.
    const now = { ...ledger, retargetBlocks: 2 };
    const { verifyLedger } = await import('../../src/ledger/verify/index.js');
    expectValid(await verifyLedger(ds(), now, { full: true }));
    const b = blocks.find((x) => x.height >= 8 && x.height % 4 === 0)!;
    const header = { ...headerOfStored(b), difficulty: b.difficulty + 1 };
    const { nonce, hash } = mine(header);
    await tamper(ds(), [
      `UPDATE blocks SET difficulty = $3, nonce = $4, hash = $5 WHERE ledger_id = $1 AND height = $2`,
      [ledger.id, b.height, header.difficulty, nonce, hash],
    ]);
    const report = await verifyLedger(ds(), now, { full: true });
    expectIssue(report, 'BLOCK_DIFFICULTY', { blockHeight: b.height });
  });

  it('retarget settings a block never could have been mined under', async () => {
    const { ledger } = await buildLedger(t.service, 'settings');
    const last = (await blocksOf(ledger.id)).at(-1)!;
    await tamper(ds(), [`UPDATE blocks SET min_difficulty = 9, max_difficulty = 3 WHERE ledger_id = $1 AND height = $2`, [ledger.id, last.height]]);
    for (const full of [true, false]) expectIssue(await verify('settings', full), 'BLOCK_DIFFICULTY', { blockHeight: last.height });
  });

  it('a wrong events root', async () => {
    const { ledger } = await buildLedger(t.service, 'eventsroot');
    const blocks = await blocksOf(ledger.id);
    const mid = blocks[5]!.height;
    const last = blocks[blocks.length - 1]!.height;
    await setBlock(ledger.id, mid, 'events_root', randomHash());
    await setBlock(ledger.id, last, 'events_root', randomHash());
    const full = await verify('eventsroot', true);
    expectIssue(full, 'BLOCK_EVENTS_ROOT', { blockHeight: mid });
    expectIssue(full, 'BLOCK_EVENTS_ROOT', { blockHeight: last });
    expectIssue(full, 'BLOCK_HASH', { blockHeight: mid });
    expectIssue(await verify('eventsroot', false), 'BLOCK_EVENTS_ROOT', { blockHeight: last });
  });

  it('a wrong tree root', async () => {
    const { ledger } = await buildLedger(t.service, 'treeroot');
    const blocks = await blocksOf(ledger.id);
    const mid = blocks[6]!.height;
    const last = blocks[blocks.length - 1]!.height;
    await setBlock(ledger.id, mid, 'tree_root', randomHash());
    await setBlock(ledger.id, last, 'tree_root', randomHash());
    const full = await verify('treeroot', true);
    expectIssue(full, 'BLOCK_TREE_ROOT', { blockHeight: mid });
    expectIssue(full, 'BLOCK_TREE_ROOT', { blockHeight: last });
    expectIssue(await verify('treeroot', false), 'BLOCK_TREE_ROOT', { blockHeight: last });
  });

  it.each([
    ['events_root', 'BLOCK_EVENTS_ROOT'],
    ['tree_root', 'BLOCK_TREE_ROOT'],
  ] as const)('a wrong %s on every block, found whatever the page size (blocks straddling pages)', async (column, kind) => {
    const { ledger } = await buildLedger(t.service, `${column.replace('_', '')}-pages`);
    const blocks = await blocksOf(ledger.id);
    await tamper(ds(), [`UPDATE blocks SET ${column} = $2 WHERE ledger_id = $1`, [ledger.id, randomHash()]]);
    const { verifyLedger } = await import('../../src/ledger/verify/index.js');
    for (const pageSize of [1, 3, 7, 16, 33]) {
      const report = await verifyLedger(ds(), ledger, { full: true, pageSize });
      const heights = report.issues.filter((i) => i.kind === kind).map((i) => i.blockHeight);
      expect(heights, `page size ${pageSize}`).toEqual(blocks.map((b) => b.height));
    }
  });

  it('a block range that skips events', async () => {
    const { ledger } = await buildLedger(t.service, 'range');
    const blocks = await blocksOf(ledger.id);
    const [first, b] = [blocks[0]!, blocks[4]!];
    await setBlock(ledger.id, b.height, 'start_index', b.startIndex + 1);
    // The first block's start is not in its header: leaving event 0 out of every block is a range fault of its own.
    await setBlock(ledger.id, first.height, 'start_index', 1);
    const full = await verify('range', true);
    expectIssue(full, 'BLOCK_RANGE', { blockHeight: b.height });
    expect(full.issues.find((i) => i.kind === 'BLOCK_RANGE' && i.blockHeight === first.height)?.message).toBe(
      `block ${first.height} starts at event 1, but the first block must start at 0`,
    );
    // A block whose range is wrong has no events root worth computing: the range is all there is to say.
    expect(full.issues.map((i) => i.kind)).toEqual(['BLOCK_RANGE', 'BLOCK_RANGE']);
  });

  it('a block range that overlaps the one before, and a first block that covers no events', async () => {
    const { ledger } = await buildLedger(t.service, 'range-overlap');
    const blocks = await blocksOf(ledger.id);
    const [empty, overlapping] = [blocks[0]!, blocks[4]!];
    await setBlock(ledger.id, overlapping.height, 'start_index', overlapping.startIndex - 1);
    await setBlock(ledger.id, empty.height, 'tree_size', empty.startIndex);
    const full = await verify('range-overlap', true);
    const range = (height: number) => full.issues.find((i) => i.kind === 'BLOCK_RANGE' && i.blockHeight === height)?.message;
    expect(range(overlapping.height)).toBe(`block ${overlapping.height} starts at event ${overlapping.startIndex - 1}, but block ${overlapping.height - 1} ends at ${overlapping.startIndex}`);
    expect(range(empty.height)).toBe(`block ${empty.height} covers no events ([${empty.startIndex}, ${empty.startIndex}))`);
  });

  it('the last block ending one event beyond the head', async () => {
    const { ledger } = await buildLedger(t.service, 'beyondhead');
    const [head] = await ds().query(`SELECT tree_size FROM ledger_heads WHERE ledger_id = $1`, [ledger.id]);
    const last = (await blocksOf(ledger.id)).at(-1)!;
    await setBlock(ledger.id, last.height, 'tree_size', Number(head.tree_size) + 1);
    for (const full of [true, false]) {
      const report = await verify('beyondhead', full);
      expectIssue(report, 'BLOCK_RANGE', { blockHeight: last.height });
      expect(report.issues.find((i) => i.kind === 'BLOCK_RANGE')!.message).toMatch(/beyond the \d+ events of the head/);
    }
  });

  it('a bad checkpoint signature (a flipped base64 character)', async () => {
    const { ledger } = await buildLedger(t.service, 'cpsig');
    const cps = await checkpointsOf(ledger.id);
    const flip = (note: string) => {
      // A character in the middle of the signature: still canonical base64, now of other bytes.
      const at = note.lastIndexOf(' ') + 30;
      const c = note[at] === 'A' ? 'B' : 'A';
      return note.slice(0, at) + c + note.slice(at + 1);
    };
    const mid = cps[1]!;
    const last = cps[cps.length - 1]!;
    for (const cp of [mid, last]) {
      await tamper(ds(), [`UPDATE checkpoints SET note = $2 WHERE id = $1`, [cp.id, flip(cp.note)]]);
    }
    const full = await verify('cpsig', true);
    expectIssue(full, 'CHECKPOINT_SIGNATURE', { checkpointId: mid.id });
    expectIssue(full, 'CHECKPOINT_SIGNATURE', { checkpointId: last.id });
    expect(full.issues).toHaveLength(2);
    expectIssue(await verify('cpsig', false), 'CHECKPOINT_SIGNATURE', { checkpointId: last.id });
    // Without a verifier key nothing can be said about signatures.
    const { verifyLedger } = await import('../../src/ledger/verify/index.js');
    expectValid(await verifyLedger(ds(), ledger, { full: true }));
  });

  it('a checkpoint with a different root, validly signed (inconsistent with the one before)', async () => {
    const { ledger } = await buildLedger(t.service, 'cproot');
    const cps = await checkpointsOf(ledger.id);
    const signer = t.service.serverKey!.note;
    const forge = async (cp: CheckpointRow) => {
      const body = parseCheckpoint(openNote(cp.note).text);
      const root = randomHash();
      const note = signNote(formatCheckpoint({ ...body, rootHash: root }), [signer]);
      await tamper(ds(), [`UPDATE checkpoints SET note = $2, root_hash = $3 WHERE id = $1`, [cp.id, note, root]]);
    };
    const last = cps[cps.length - 1]!;
    await forge(last);
    for (const full of [true, false]) {
      const report = await verify('cproot', full);
      expectIssue(report, 'CHECKPOINT_INCONSISTENT', { checkpointId: last.id });
      expectIssue(report, 'CHECKPOINT_ROOT', { checkpointId: last.id });
      expect(report.issues.every((i) => i.checkpointId === last.id)).toBe(true);
    }
    // An earlier one: full mode names it; quick mode sees it from the last one's proof.
    const earlier = cps.find((c) => c.treeSize < last.treeSize && c.treeSize > cps[0]!.treeSize)!;
    await forge(earlier);
    expectIssue(await verify('cproot', true), 'CHECKPOINT_INCONSISTENT', { checkpointId: earlier.id });
  });

  /** A statement that inserts `n` true copies of `cp`, with newer ids. */
  async function copiesOf(cp: CheckpointRow, n: number): Promise<[string, unknown[]]> {
    const columns = (
      await ds().query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'checkpoints' AND column_name <> 'id' ORDER BY ordinal_position`)
    ).map((r: { column_name: string }) => r.column_name).join(', ');
    return [`INSERT INTO checkpoints (${columns}) SELECT ${columns} FROM checkpoints, generate_series(1, $2) WHERE id = $1`, [cp.id, n]];
  }

  it('a forged checkpoint among more at one tree size than full verification reads in one page', async () => {
    const { ledger } = await buildLedger(t.service, 'cpsplit');
    const cp = (await checkpointsOf(ledger.id))[1]!;
    // 1,200 copies: the page boundary (1,000 rows) falls inside this size, and the forged
    // one, the newest, is read on the next page, which must resume within the same size.
    await tamper(ds(), await copiesOf(cp, 1200));
    const all = await checkpointsOf(ledger.id);
    const forged = all.filter((c) => c.treeSize === cp.treeSize).at(-1)!;
    const body = parseCheckpoint(openNote(forged.note).text);
    const root = randomHash();
    await tamper(ds(), [`UPDATE checkpoints SET note = $2, root_hash = $3 WHERE id = $1`, [forged.id, signNote(formatCheckpoint({ ...body, rootHash: root }), [t.service.serverKey!.note]), root]]);
    const report = await verify('cpsplit', true);
    expect(report.checkpointsVerified).toBe(all.length);
    expectIssue(report, 'CHECKPOINT_ROOT', { checkpointId: forged.id });
  });

  it('two checkpoints at the newest size, the older one re-signed with another root', async () => {
    const { ledger } = await buildLedger(t.service, 'cpsame');
    const last = (await checkpointsOf(ledger.id)).at(-1)!;
    const body = parseCheckpoint(openNote(last.note).text);
    const root = randomHash();
    const note = signNote(formatCheckpoint({ ...body, rootHash: root }), [t.service.serverKey!.note]);
    // A true copy of the newest checkpoint, newer still; the original then forged.
    await tamper(ds(), await copiesOf(last, 1), [`UPDATE checkpoints SET note = $2, root_hash = $3 WHERE id = $1`, [last.id, note, root]]);
    for (const full of [true, false]) {
      const report = await verify('cpsame', full);
      expectIssue(report, 'CHECKPOINT_ROOT', { checkpointId: last.id });
      expectIssue(report, 'CHECKPOINT_INCONSISTENT', { checkpointId: last.id });
      expect(report.issues.every((i) => i.checkpointId === last.id)).toBe(true);
    }
  });

  it('the newest checkpoint re-signed for one event more than the head has', async () => {
    const { ledger, events } = await buildLedger(t.service, 'cpbeyond');
    const last = (await checkpointsOf(ledger.id)).at(-1)!;
    const n = events.length;
    const body = parseCheckpoint(openNote(last.note).text);
    const note = signNote(formatCheckpoint({ ...body, treeSize: n + 1 }), [t.service.serverKey!.note]);
    await tamper(ds(), [`UPDATE checkpoints SET note = $2, tree_size = $3 WHERE id = $1`, [last.id, note, n + 1]]);
    for (const full of [true, false]) {
      const report = await verify('cpbeyond', full);
      expectIssue(report, 'CHECKPOINT_ROOT', { checkpointId: last.id });
      expect(report.issues.find((i) => i.kind === 'CHECKPOINT_ROOT')!.message).toMatch(new RegExp(`signs a tree of ${n + 1} events, but the ledger has ${n}$`));
    }
  });

  it('the previous checkpoint forged: quick mode blames it, not the last one', async () => {
    const { ledger } = await buildLedger(t.service, 'cpprev');
    const cps = await checkpointsOf(ledger.id);
    const prev = cps[cps.length - 2]!; // quick mode's "previous": by tree size, then id
    const body = parseCheckpoint(openNote(prev.note).text);
    const root = randomHash();
    const note = signNote(formatCheckpoint({ ...body, rootHash: root }), [t.service.serverKey!.note]);
    await tamper(ds(), [`UPDATE checkpoints SET note = $2, root_hash = $3 WHERE id = $1`, [prev.id, note, root]]);
    const quick = await verify('cpprev', false);
    expectIssue(quick, 'CHECKPOINT_INCONSISTENT', { checkpointId: prev.id });
    expectIssue(quick, 'CHECKPOINT_ROOT', { checkpointId: prev.id });
  });

  it('a checkpoint row that disagrees with its note', async () => {
    const { ledger } = await buildLedger(t.service, 'cprow');
    const cp = (await checkpointsOf(ledger.id))[2]!;
    await tamper(ds(), [`UPDATE checkpoints SET block_height = block_height + 1 WHERE id = $1`, [cp.id]]);
    expectIssue(await verify('cprow', true), 'CHECKPOINT_MALFORMED', { checkpointId: cp.id });
  });

  it('a tampered tree_nodes row', async () => {
    const { ledger, events } = await buildLedger(t.service, 'treenode');
    await tamper(ds(), [`UPDATE tree_nodes SET hash = $2 WHERE ledger_id = $1 AND level = 2 AND idx = 3`, [ledger.id, randomHash()]]);
    const full = await verify('treenode', true);
    expectIssue(full, 'TREE_MISMATCH', { index: 12 });
    expect(full.issues).toHaveLength(1);
    // A node among the newest leaves: quick mode recomputes those.
    const n = events.length;
    const idx = Math.floor((n - 10) / 4);
    await tamper(ds(), [`UPDATE tree_nodes SET hash = $3 WHERE ledger_id = $1 AND level = 2 AND idx = $2`, [ledger.id, idx, randomHash()]]);
    expectIssue(await verify('treenode', false), 'TREE_MISMATCH', { index: idx * 4 });
  });

  it("quick mode: the first and the last stored node wholly among the newest leaves", async () => {
    const { ledger, events } = await buildLedger(t.service, 'tailedges');
    const n = events.length;
    const first = Math.ceil(Math.max(0, n - QUICK_TAIL) / 2);
    const last = Math.floor(n / 2) - 1;
    await tamper(
      ds(),
      [`UPDATE tree_nodes SET hash = $3 WHERE ledger_id = $1 AND level = 1 AND idx = $2`, [ledger.id, first, randomHash()]],
      [`UPDATE tree_nodes SET hash = $3 WHERE ledger_id = $1 AND level = 1 AND idx = $2`, [ledger.id, last, randomHash()]],
    );
    const quick = await verify('tailedges', false);
    expectIssue(quick, 'TREE_MISMATCH', { index: first * 2 });
    expectIssue(quick, 'TREE_MISMATCH', { index: last * 2 });
  });

  it('a deleted tree_nodes row, and one added beyond the head', async () => {
    const { ledger, events } = await buildLedger(t.service, 'nonode');
    await tamper(ds(), [`DELETE FROM tree_nodes WHERE ledger_id = $1 AND level = 1 AND idx = 20`, [ledger.id]]);
    expectIssue(await verify('nonode', true), 'TREE_MISMATCH', { index: 40 });
    const beyond = Math.ceil(events.length / 4);
    await ds().query(`INSERT INTO tree_nodes (ledger_id, level, idx, hash) VALUES ($1, 2, $2, $3)`, [ledger.id, beyond, randomHash()]);
    expectIssue(await verify('nonode', true), 'TREE_MISMATCH', { index: beyond * 4 });
    // The first node past the head at a level the head's size does not fill, one at a negative
    // index, and one just above the highest level a tree of 2^53 leaves has a node at.
    const n = events.length;
    const level = [1, 2, 3, 4, 5, 6].find((l) => n % 2 ** l !== 0)!;
    const edge = Math.floor(n / 2 ** level);
    await ds().query(`INSERT INTO tree_nodes (ledger_id, level, idx, hash) VALUES ($1, $2, $3, $4), ($1, 1, -1, $4), ($1, 53, 0, $4)`, [ledger.id, level, edge, randomHash()]);
    const report = await verify('nonode', true);
    expectIssue(report, 'TREE_MISMATCH', { index: edge * 2 ** level });
    expectIssue(report, 'TREE_MISMATCH', { index: -2 });
    expect(report.issues.find((i) => i.kind === 'TREE_MISMATCH' && i.message.startsWith('tree node (level 53, index 0)'))).toBeDefined();
    // One among the newest leaves, whose stored nodes quick mode reads.
    const idx = Math.floor((events.length - 10) / 2);
    await tamper(ds(), [`DELETE FROM tree_nodes WHERE ledger_id = $1 AND level = 1 AND idx = $2`, [ledger.id, idx]]);
    expectIssue(await verify('nonode', false), 'TREE_MISMATCH', { index: idx * 2 });
  });

  it('no head row', async () => {
    const { ledger } = await buildLedger(t.service, 'nohead');
    await tamper(ds(), [`DELETE FROM ledger_heads WHERE ledger_id = $1`, [ledger.id]]);
    for (const full of [true, false]) expectIssue(await verify('nohead', full), 'HEAD_MISMATCH', {});
  });

  it('the first block deleted, or linked to something other than the genesis value', async () => {
    const { ledger } = await buildLedger(t.service, 'firstblock');
    const messages = async (height: number) => (await verify('firstblock', true)).issues.filter((i) => i.kind === 'BLOCK_LINK' && i.blockHeight === height).map((i) => i.message);
    await setBlock(ledger.id, 0, 'previous_hash', randomHash());
    expect(await messages(0)).toEqual([expect.stringMatching(/the first block must link to 0{64}$/)]);
    await tamper(ds(), [`DELETE FROM blocks WHERE ledger_id = $1 AND height = 0`, [ledger.id]]);
    expect(await messages(1)).toEqual(expect.arrayContaining([expect.stringMatching(/^block 1 is the first block; block 0 is missing$/), expect.stringMatching(/the first block must link to/)]));
  });

  it('a truncated log: the newest events, their tree nodes and blocks gone and the head put back as it was', async () => {
    const { ledger, events } = await buildLedger(t.service, 'truncated');
    const kept = events.length;
    const [head] = await ds().query(`SELECT * FROM ledger_heads WHERE ledger_id = $1`, [ledger.id]);
    await t.service.append('truncated', Array.from({ length: 12 }, (_, i) => ({ type: 'Later', actor: `user:${i}` })));
    const signed = await t.service.createCheckpoint('truncated', 'lost');
    await tamper(
      ds(),
      [`DELETE FROM events WHERE ledger_id = $1 AND idx >= $2`, [ledger.id, kept]],
      [`DELETE FROM tree_nodes WHERE ledger_id = $1 AND (idx + 1) * (1::bigint << level) > $2`, [ledger.id, kept]],
      [`DELETE FROM blocks WHERE ledger_id = $1 AND tree_size > $2`, [ledger.id, kept]],
      [
        `UPDATE ledger_heads SET tree_size = $2, frontier = $3, root_hash = $4, last_hlc_ms = $5, last_hlc_logical = $6, tips = $7 WHERE ledger_id = $1`,
        [ledger.id, head.tree_size, head.frontier, head.root_hash, head.last_hlc_ms, head.last_hlc_logical, head.tips],
      ],
    );
    // Everything left is a sound log of `kept` events; only the checkpoint of the lost ones says otherwise.
    for (const full of [true, false]) {
      const report = await verify('truncated', full);
      expectIssue(report, 'CHECKPOINT_ROOT', { checkpointId: signed.id });
      expect(report.issues.find((i) => i.kind === 'CHECKPOINT_ROOT')!.message).toMatch(new RegExp(`signs a tree of ${signed.treeSize} events, but the ledger has ${kept}`));
      expect(report.issues.filter((i) => i.kind !== 'CHECKPOINT_ROOT').map((i) => i.message)).toEqual(
        // Quick mode also looks for the block the newest checkpoint names.
        full ? [] : [`checkpoint ${signed.id}: no stored block ends at its tree size ${signed.treeSize}`],
      );
    }
  });

  it("a head whose frontier, tips or last hlc is rewritten", async () => {
    const { ledger } = await buildLedger(t.service, 'headparts');
    const [head] = await ds().query(`SELECT frontier, tips, last_hlc_logical FROM ledger_heads WHERE ledger_id = $1`, [ledger.id]);
    const set = (column: string, value: unknown) => ds().query(`UPDATE ledger_heads SET ${column} = $2 WHERE ledger_id = $1`, [ledger.id, value]);
    const headIssues = async (full: boolean) => {
      const report = await verify('headparts', full);
      expectIssue(report, 'HEAD_MISMATCH', {});
      expect(report.issues).toHaveLength(1);
      return report.issues[0]!.message;
    };
    await set('frontier', Buffer.concat([randomHash(), head.frontier.subarray(32)]));
    for (const full of [true, false]) expect(await headIssues(full)).toMatch(/frontier/);
    await set('frontier', head.frontier);
    // The newest event dropped from the tips.
    await set('tips', head.tips.subarray(0, head.tips.length - 32));
    expect(await headIssues(true)).toMatch(/tips/);
    expect(await headIssues(false)).toMatch(/the newest event \d+ is not the last tip/);
    // A stray byte in front: the newest event is still last, but tips are whole ids.
    await set('tips', Buffer.concat([Buffer.of(1), head.tips]));
    expect(await headIssues(true)).toMatch(/tips/);
    expect(await headIssues(false)).toMatch(/the newest event \d+ is not the last tip/);
    // An id too many after the newest, or another id in place of an older tip: full mode reads every event.
    await set('tips', Buffer.concat([head.tips, randomHash()]));
    expect(await headIssues(true)).toMatch(/tips/);
    expect(head.tips.length).toBeGreaterThanOrEqual(64);
    await set('tips', Buffer.concat([randomHash(), head.tips.subarray(32)]));
    expect(await headIssues(true)).toMatch(/tips/);
    await set('tips', head.tips);
    // Quick mode does not read every event's hlc; full mode does.
    await set('last_hlc_logical', head.last_hlc_logical + 1);
    expect(await headIssues(true)).toMatch(/last hlc/);
  });

  it('a rewritten head', async () => {
    const { ledger } = await buildLedger(t.service, 'head');
    await ds().query(`UPDATE ledger_heads SET root_hash = $2 WHERE ledger_id = $1`, [ledger.id, randomHash()]);
    for (const full of [true, false]) {
      const report = await verify('head', full);
      expectIssue(report, 'HEAD_MISMATCH', {});
      expect(report.issues).toHaveLength(1);
    }
  });
});
