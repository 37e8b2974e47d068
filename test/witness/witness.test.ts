import { createHash } from 'node:crypto';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cosignerFromSeed, formatCheckpoint, noteSignerFromSeed, parseCosignerKey, signNote, verifyCosignature } from '../../src/ledger/note/index.js';
import { treeHasher } from '../../src/ledger/merkle/index.js';
import { parseAddCheckpoint } from '../../src/witness/add-checkpoint.js';
import { WitnessService } from '../../src/witness/witness-service.js';
import { usingPostgres } from '../support/db.js';
import { openTestLedger, TEST_SEED, type TestLedger } from '../support/ledger.js';

// The log: a real ledger (so its consistency proofs are real), signing as "test.chainproof".
let t: TestLedger;
let witness: WitnessService;
const log = noteSignerFromSeed('test.chainproof', Buffer.from(TEST_SEED, 'hex'));
const cosigner = cosignerFromSeed('witness.test/w1', Buffer.alloc(32, 7));
const ORIGIN = 'test.chainproof/main';

beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
  witness = new WitnessService(t.db.dataSource, cosigner, [log.verifierKey], pino({ level: 'silent' }));
  await t.service.append('main', Array.from({ length: 40 }, (_, i) => ({ type: 't', actor: `a${i}` })));
});
afterAll(async () => t?.close());

const rootAt = async (size: number) => Buffer.from((await t.service.consistencyProof('main', 1, size)).toRoot, 'hex');
const checkpoint = async (size: number, root?: Buffer, signer = log, origin = ORIGIN) =>
  signNote(formatCheckpoint({ origin, treeSize: size, rootHash: root ?? (await rootAt(size)) }), [signer]);
const proofLines = async (from: number, to: number) =>
  from === 0 || from === to ? '' : (await t.service.consistencyProof('main', from, to)).hashes.map((h) => `${Buffer.from(h, 'hex').toString('base64')}\n`).join('');
const request = async (old: number, size: number, opts: { proof?: string; note?: string } = {}) =>
  `old ${old}\n${opts.proof ?? (await proofLines(old, size))}\n${opts.note ?? (await checkpoint(size))}`;

describe('an add-checkpoint body', () => {
  const line = (i: number) => `${Buffer.alloc(32, i).toString('base64')}\n`;
  const body = (proof: string) => `old 3\n${proof}\nthe checkpoint\n`;

  it('carries up to 63 proof lines of one SHA-256 hash each', () => {
    const lines = Array.from({ length: 63 }, (_, i) => line(i)).join('');
    expect(parseAddCheckpoint(body(lines))).toMatchObject({ oldSize: 3, note: 'the checkpoint\n' });
    expect((parseAddCheckpoint(body(lines)) as { proof: Buffer[] }).proof).toHaveLength(63);
    expect(parseAddCheckpoint(body(lines + line(63)))).toMatchObject({ status: 400 });
    expect(parseAddCheckpoint(body(`${Buffer.alloc(31).toString('base64')}\n`))).toMatchObject({ status: 400 });
    expect(parseAddCheckpoint(body(`${Buffer.alloc(33).toString('base64')}\n`))).toMatchObject({ status: 400 });
  });

  it('names its old size in plain digits: no leading zeros, no sign', () => {
    expect(parseAddCheckpoint('old 0\n\nthe checkpoint\n')).toMatchObject({ oldSize: 0, proof: [] });
    expect(parseAddCheckpoint('old 7\n\nthe checkpoint\n')).toMatchObject({ oldSize: 7 });
    expect(parseAddCheckpoint(`old ${Number.MAX_SAFE_INTEGER}\n\nthe checkpoint\n`)).toMatchObject({ oldSize: Number.MAX_SAFE_INTEGER });
    for (const old of ['00', '07', '+7', '-0', ' 7', '7 ', '0x7', '', '9007199254740992', '9999999999999999']) {
      expect(parseAddCheckpoint(`old ${old}\n\nthe checkpoint\n`), JSON.stringify(old)).toMatchObject({ status: 400 });
    }
  });
});

describe('tlog-witness add-checkpoint', () => {
  it('refuses what it cannot check: unknown origin 404, untrusted signature 403, old > size 400, malformed 400', async () => {
    const stranger = noteSignerFromSeed('stranger.example', Buffer.alloc(32, 1));
    expect((await witness.addCheckpoint(await request(0, 5, { note: await checkpoint(5, undefined, stranger, 'stranger.example/log') }))).status).toBe(404);
    // The trusted key named test.chainproof covers test.chainproof/…, not every name that begins alike.
    expect((await witness.addCheckpoint(await request(0, 5, { note: await checkpoint(5, undefined, log, 'test.chainproofs/main') }))).status).toBe(404);
    const forger = noteSignerFromSeed('test.chainproof', Buffer.alloc(32, 2)); // right name, wrong key
    expect((await witness.addCheckpoint(await request(0, 5, { note: await checkpoint(5, undefined, forger) }))).status).toBe(403);
    expect((await witness.addCheckpoint(await request(9, 5, { proof: '' }))).status).toBe(400);
    expect((await witness.addCheckpoint('old 00\n\nnonsense')).status).toBe(400);
    expect((await witness.addCheckpoint('no blank line')).status).toBe(400);
  });

  it('cosigns the first checkpoint, then only consistent extensions of it', async () => {
    const first = await witness.addCheckpoint(await request(0, 10));
    expect(first.status).toBe(200);
    const body = formatCheckpoint({ origin: ORIGIN, treeSize: 10, rootHash: await rootAt(10) });
    expect(verifyCosignature(body, first.body, parseCosignerKey(cosigner.verifierKey))).not.toBeNull();

    const stale = await witness.addCheckpoint(await request(0, 12));
    expect(stale).toEqual({ status: 409, contentType: 'text/x.tlog.size', body: '10\n' });

    const tampered = (await proofLines(10, 20)).replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    const evidence = async () => Number((await t.db.dataSource.query(`SELECT count(*) AS n FROM witness_evidence WHERE origin = $1`, [ORIGIN]))[0].n);
    expect((await witness.addCheckpoint(await request(10, 20, { proof: tampered }))).status).toBe(422);
    // Anyone can send the log's genuine checkpoint with a bad proof, again and again: it is kept once.
    const kept = await evidence();
    for (let i = 0; i < 3; i++) expect((await witness.addCheckpoint(await request(10, 20, { proof: tampered }))).status).toBe(422);
    expect(await evidence()).toBe(kept);
    expect((await witness.addCheckpoint(await request(10, 20))).status).toBe(200);
    expect((await witness.addCheckpoint(await request(20, 20))).status).toBe(200); // same size, same root
  });

  it('refuses a split view: another root for a cosigned size, or a history that does not extend it', async () => {
    const other = Buffer.alloc(32, 9);
    expect((await witness.addCheckpoint(await request(20, 20, { note: await checkpoint(20, other) }))).status).toBe(409);
    expect((await witness.addCheckpoint(await request(20, 30, { note: await checkpoint(30, other) }))).status).toBe(422);
    const [evidence] = await t.db.dataSource.query(`SELECT count(*) AS n FROM witness_evidence WHERE origin = $1`, [ORIGIN]);
    expect(Number(evidence.n)).toBeGreaterThanOrEqual(3); // the tampered proof and both forks, kept as evidence
    const non = await witness.addCheckpoint(await request(0, 5, { proof: 'PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n', note: await checkpoint(5, undefined, log, 'test.chainproof/other') }));
    expect(non.status).toBe(422); // a proof from size 0 must be empty
  });

  it('cosigns a first checkpoint of size 0, and then holds the log to its root', async () => {
    const origin = 'test.chainproof/empty';
    const empty = createHash('sha256').digest();
    const at0 = (root: Buffer) => checkpoint(0, root, log, origin).then((note) => `old 0\n\n${note}`);
    const first = await witness.addCheckpoint(await at0(empty));
    expect(first.status).toBe(200);
    expect(verifyCosignature(formatCheckpoint({ origin, treeSize: 0, rootHash: empty }), first.body, parseCosignerKey(cosigner.verifierKey))).not.toBeNull();
    const [evidence] = await t.db.dataSource.query(`SELECT count(*) AS n FROM witness_evidence WHERE origin = $1`, [origin]);
    expect(Number(evidence.n)).toBe(0);
    expect((await witness.addCheckpoint(await at0(empty))).status).toBe(200);
    expect((await witness.addCheckpoint(await at0(Buffer.alloc(32, 9)))).status).toBe(409);
  });

  it('two racing submissions from the same old size: one is cosigned, the other told the new size', async () => {
    const [a, b] = await Promise.all([witness.addCheckpoint(await request(20, 30)), witness.addCheckpoint(await request(20, 35))]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const loser = a.status === 409 ? a : b;
    expect(['30\n', '35\n']).toContain(loser.body);
  });

  // The race above may not interleave; here both requests are made to wait on the origin's row
  // before either reads it, so only the row lock of the read keeps the second from cosigning too.
  it.runIf(usingPostgres())('two submissions from the same old size held up together: the second reads the first one\'s size, not the one it waited on', async () => {
    const origin = 'test.chainproof/held';
    const note = (size: number) => checkpoint(size, undefined, log, origin);
    expect((await witness.addCheckpoint(`old 0\n\n${await note(20)}`)).status).toBe(200);
    const bodies = [await request(20, 30, { note: await note(30) }), await request(20, 35, { note: await note(35) })];
    const locker = new pg.Client({ connectionString: t.db.env.DATABASE_URL });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM witness_state WHERE origin = $1 FOR UPDATE`, [origin]);
      const answers = Promise.all(bodies.map((b) => witness.addCheckpoint(b)));
      // Both wait on the row, past their INSERT … DO NOTHING: with the lock at their read of it,
      // without it at their UPDATE, both having read size 20. Asked outside the locker's
      // transaction, whose view of pg_stat_activity would not change.
      const waiting = async () =>
        Number(
          (
            await t.db.dataSource.query(
              `SELECT count(*) AS n FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%witness_state%' AND query NOT LIKE 'INSERT%'`,
            )
          )[0].n,
        );
      await vi.waitFor(async () => expect(await waiting()).toBe(2), { timeout: 10_000, interval: 20 });
      await locker.query('COMMIT');
      const [a, b] = await answers;
      expect([a!.status, b!.status].sort()).toEqual([200, 409]);
      const [won, lost] = a!.status === 200 ? [a!, b!] : [b!, a!];
      const wonSize = won === a ? 30 : 35;
      expect(lost).toEqual({ status: 409, contentType: 'text/x.tlog.size', body: `${wonSize}\n` });
      const [state] = await t.db.dataSource.query(`SELECT tree_size, root_hash FROM witness_state WHERE origin = $1`, [origin]);
      expect(Number(state.tree_size)).toBe(wonSize);
      expect(Buffer.from(state.root_hash).equals(await rootAt(wonSize))).toBe(true);
    } finally {
      await locker.end();
    }
  });
});

describe('tlog-witness add-checkpoint for a BLAKE3 ledger', () => {
  const B3 = 'test.chainproof/b3';
  const b3Root = async (size: number) => Buffer.from((await t.service.consistencyProof('b3', 1, size)).toRoot, 'hex');
  const b3Request = async (old: number, size: number, hashLine = 'hash blake3') => {
    const proof = old === 0 ? '' : (await t.service.consistencyProof('b3', old, size)).hashes.map((h) => `${Buffer.from(h, 'hex').toString('base64')}\n`).join('');
    const note = signNote(formatCheckpoint({ origin: B3, treeSize: size, rootHash: await b3Root(size), extensions: [hashLine] }), [log]);
    return `old ${old}\n${proof}\n${note}`;
  };

  it('checks consistency with the tree hash the checkpoint names, and refuses one it does not know', async () => {
    await t.service.createLedger('b3', { hashAlg: 'blake3' });
    await t.service.append('b3', Array.from({ length: 12 }, (_, i) => ({ type: 't', actor: `b${i}` })));
    expect((await witness.addCheckpoint(await b3Request(0, 5))).status).toBe(200);
    expect((await witness.addCheckpoint(await b3Request(5, 12))).status).toBe(200);
    const unknown = await witness.addCheckpoint(await b3Request(12, 12, 'hash md5'));
    expect(unknown.status).toBe(400);
    const [evidence] = await t.db.dataSource.query(`SELECT count(*) AS n FROM witness_evidence WHERE origin = $1`, [B3]);
    expect(Number(evidence.n)).toBe(0);
  });
});

describe('tlog-witness add-checkpoint for a log that changes its tree hash', () => {
  it('refuses a checkpoint under another tree hash, although its proof from a power-of-two size verifies', async () => {
    const origin = 'test.chainproof/switch';
    const note = (size: number, root: Buffer, extensions: string[] = []) => signNote(formatCheckpoint({ origin, treeSize: size, rootHash: root, extensions }), [log]);
    expect((await witness.addCheckpoint(`old 0\n\n${note(8, await rootAt(8))}`)).status).toBe(200);
    // From a power-of-two size the proof starts at the old root as given, so any node may follow
    // it: a BLAKE3 "tree" whose left half is the SHA-256 root verifies under BLAKE3.
    const right = createHash('sha256').update('any subtree').digest();
    const mixed = treeHasher('blake3').nodeHash(await rootAt(8), right);
    const switched = await witness.addCheckpoint(`old 8\n${right.toString('base64')}\n\n${note(12, mixed, ['hash blake3'])}`);
    expect(switched).toMatchObject({ status: 422, body: expect.stringMatching(/tree hash sha256/) });
    const [evidence] = await t.db.dataSource.query(`SELECT reason FROM witness_evidence WHERE origin = $1`, [origin]);
    expect(evidence.reason).toBe('tree hash changed from sha256 to blake3');
    // The log's real extension is still cosigned: the refusal left its record as it was.
    expect((await witness.addCheckpoint(`old 8\n${await proofLines(8, 12)}\n${note(12, await rootAt(12))}`)).status).toBe(200);
  });
});

describe('a witness trusting several logs', () => {
  const a = noteSignerFromSeed('a.example', Buffer.alloc(32, 11));
  const b = noteSignerFromSeed('b.example', Buffer.alloc(32, 12));
  const note = async (origin: string, size: number, signer: typeof a) => signNote(formatCheckpoint({ origin, treeSize: size, rootHash: await rootAt(size) }), [signer]);
  let w: WitnessService;
  beforeAll(() => {
    w = new WitnessService(t.db.dataSource, cosigner, [a.verifierKey, b.verifierKey], pino({ level: 'silent' }));
  });

  it('checks each origin against the key trusted for it alone, the origin named like the key included', async () => {
    expect((await w.addCheckpoint(`old 0\n\n${await note('a.example', 5, a)}`)).status).toBe(200);
    expect((await w.addCheckpoint(`old 0\n\n${await note('b.example/main', 5, a)}`)).status).toBe(403);
    expect((await w.addCheckpoint(`old 0\n\n${await note('b.example/main', 5, b)}`)).status).toBe(200);
  });

  it('tells a submitter that claims a larger old size than it cosigned the size it did', async () => {
    expect((await w.addCheckpoint(`old 0\n\n${await note('a.example/ahead', 5, a)}`)).status).toBe(200);
    const ahead = await w.addCheckpoint(`old 10\n${await proofLines(10, 12)}\n${await note('a.example/ahead', 12, a)}`);
    expect(ahead).toEqual({ status: 409, contentType: 'text/x.tlog.size', body: '5\n' });
  });
});
