import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { cosignerFromSeed, formatCheckpoint, noteSignerFromSeed, openNote, parseCosignerKey, signNote, verifyCosignature } from '../../src/ledger/note/index.js';
import { CosignatureCollector } from '../../src/witness/cosignatures.js';
import { WitnessService } from '../../src/witness/witness-service.js';
import type { WitnessResponse } from '../../src/witness/add-checkpoint.js';
import { openTestLedger, TEST_SEED, type TestLedger } from '../support/ledger.js';

/**
 * The log's side of c2sp.org/tlog-witness, in one process: a CosignatureCollector offering this
 * ledger's checkpoints to a validator over HTTP. The validator is a real WitnessService (on the
 * same database: its state is keyed by origin, the log's by validator) unless a test answers for it.
 */
let t: TestLedger;
let server: Server;
let url = '';
const logSigner = noteSignerFromSeed('test.chainproof', Buffer.from(TEST_SEED, 'hex'));
const cosigner = cosignerFromSeed('witness.test/w1', Buffer.alloc(32, 7));
const stranger = cosignerFromSeed('witness.test/w2', Buffer.alloc(32, 8));
let witness: WitnessService;
/** How the validator answers; the real witness does unless a test says otherwise (reset before each). */
let answer: (body: string) => Promise<WitnessResponse>;
const honest = (body: string) => witness.addCheckpoint(body);
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
  witness = new WitnessService(t.db.dataSource, cosigner, [logSigner.verifierKey], silent);
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      void answer(body).then((r) => res.writeHead(r.status, { 'content-type': r.contentType }).end(r.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

beforeEach(() => {
  answer = honest;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await t?.close();
});

const collector = (log = silent, key = cosigner.verifierKey) => new CosignatureCollector(t.db.dataSource, t.service, [{ url, vkey: key }], log);
const append = (ledger: string, n: number) => t.service.append(ledger, Array.from({ length: n }, (_, i) => ({ type: 't', actor: `a${i}` })));
const rootAt = async (ledger: string, size: number) => Buffer.from((await t.service.consistencyProof(ledger, 1, size)).toRoot, 'hex');
/** Tells the validator, as another copy of the log could, of a checkpoint of `size` signed with the log's key. */
const cosignDirectly = async (ledger: string, size: number, root?: Buffer) => {
  const note = signNote(formatCheckpoint({ origin: `test.chainproof/${ledger}`, treeSize: size, rootHash: root ?? (await rootAt(ledger, size)) }), [logSigner]);
  expect((await witness.addCheckpoint(`old 0\n\n${note}`)).status).toBe(200);
};
/** Ledgers named after 'main', which never has a checkpoint here, so a sweep meets 'main' first. A sweep offers every ledger's checkpoint: each test looks at its own. */
let n = 0;
const ledger = async () => {
  const name = `w${++n}`;
  await t.service.createLedger(name, {});
  return name;
};

describe('collecting cosignatures', () => {
  it('keeps a verifying cosignature, and cosigns a second checkpoint of the same size too', async () => {
    const name = await ledger();
    await append(name, 5);
    const first = await t.service.createCheckpoint(name);
    const c = collector();
    await c.sweep();
    const [line] = await c.lines(first.id);
    expect(line?.witness).toBe(cosigner.verifierKey);
    expect(verifyCosignature(openNote(first.note).text, line!.line.trimEnd(), parseCosignerKey(cosigner.verifierKey))).not.toBeNull();
    const again = await t.service.createCheckpoint(name, 'same size');
    expect(again.treeSize).toBe(first.treeSize);
    await c.sweep();
    expect(await c.lines(again.id)).toHaveLength(1);
    // Another log's view, with another validator configured, does not count this one's.
    expect(await collector(silent, stranger.verifierKey).lines(again.id)).toEqual([]);
  });

  it('learns the size a validator cosigned from its 409 and offers again from there', async () => {
    const name = await ledger();
    await append(name, 12);
    await cosignDirectly(name, 7); // this log has no record of it
    const cp = await t.service.createCheckpoint(name);
    const c = collector();
    await c.sweep();
    expect((await c.lines(cp.id)).map((l) => l.witness)).toEqual([cosigner.verifierKey]);
    expect(c.divergences().filter((d) => d.ledger === name)).toEqual([]);
  });

  it('keeps no answer but a valid cosignature from the configured key', async () => {
    const name = await ledger();
    await append(name, 3);
    const cp = await t.service.createCheckpoint(name);
    const c = collector();
    answer = async () => ({ status: 200, contentType: 'text/plain; charset=utf-8', body: 'not a cosignature\n' });
    await c.sweep();
    expect(await c.lines(cp.id)).toEqual([]);
    // A genuine cosignature, by a validator this log did not configure.
    answer = async () => ({ status: 200, contentType: 'text/plain; charset=utf-8', body: stranger.cosign(openNote(cp.note).text, 1_700_000_000) });
    await c.sweep();
    expect(await c.lines(cp.id)).toEqual([]);
    expect((await t.db.dataSource.query(`SELECT count(*) AS n FROM checkpoint_cosignatures WHERE checkpoint_id = $1`, [cp.id]))[0].n).toBe('0');
  });

  it('sweeps every ledger, past one that has no checkpoint yet', async () => {
    const name = await ledger();
    await append(name, 2);
    const cp = await t.service.createCheckpoint(name);
    expect(await t.service.checkpoint('main')).toBeNull();
    const c = collector();
    await c.sweep();
    expect(await c.lines(cp.id)).toHaveLength(1);
  });
});

describe('a validator that holds a tree this log does not', () => {
  it('is not reported for a checkpoint older than one it cosigned that this log has', async () => {
    const name = await ledger();
    await append(name, 5);
    const old = await t.service.createCheckpoint(name);
    await append(name, 7);
    await cosignDirectly(name, 10); // the log has 12 events: the validator is not ahead of it
    const c = collector();
    await c.sweep();
    expect(await c.lines(old.id)).toEqual([]);
    expect(c.divergences().filter((d) => d.ledger === name)).toEqual([]);
  });

  it('is reported "behind" when it cosigned a larger tree than the log has, and logged once', async () => {
    const name = await ledger();
    await append(name, 5);
    const cp = await t.service.createCheckpoint(name);
    await cosignDirectly(name, 20, Buffer.alloc(32, 3));
    const errors: string[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => errors.push(line) });
    const c = collector(log);
    await c.sweep();
    await c.sweep();
    expect(c.divergences().filter((d) => d.ledger === name)).toEqual([{ ledger: name, validator: url, kind: 'behind', validatorSize: 20, checkpointSize: cp.treeSize, detail: expect.any(String) }]);
    expect(errors.filter((l) => l.includes(`cosigned ${name} at tree size 20, beyond this log`))).toHaveLength(1);
  });

  it('is logged again when the size it cosigned beyond this log changes', async () => {
    const name = await ledger();
    await append(name, 5);
    await t.service.createCheckpoint(name);
    await cosignDirectly(name, 20, Buffer.alloc(32, 3));
    const errors: string[] = [];
    const c = collector(pino({ level: 'error' }, { write: (line: string) => errors.push(line) }));
    await c.sweep();
    // The validator moved on (to a tree this log has even less of).
    await t.db.dataSource.query(`DELETE FROM witness_state WHERE origin = $1`, [`test.chainproof/${name}`]);
    await cosignDirectly(name, 25, Buffer.alloc(32, 3));
    await c.sweep();
    expect(c.divergences().filter((d) => d.ledger === name)).toMatchObject([{ kind: 'behind', validatorSize: 25 }]);
    expect(errors.filter((l) => l.includes(`cosigned ${name} at tree size 20,`))).toHaveLength(1);
    expect(errors.filter((l) => l.includes(`cosigned ${name} at tree size 25,`))).toHaveLength(1);
  });

  it('is reported as a fork when it cosigned another root at the same size', async () => {
    const name = await ledger();
    await append(name, 5);
    const cp = await t.service.createCheckpoint(name);
    await cosignDirectly(name, 5, Buffer.alloc(32, 4));
    const c = collector();
    await c.sweep();
    expect(c.divergences().filter((d) => d.ledger === name)).toMatchObject([{ ledger: name, kind: 'fork', validatorSize: 5, checkpointSize: cp.treeSize }]);
  });

  it('is reported as a fork when it refuses the consistency proof, until it cosigns a later checkpoint', async () => {
    const name = await ledger();
    await append(name, 3);
    await cosignDirectly(name, 3, Buffer.alloc(32, 5));
    await append(name, 2);
    const cp = await t.service.createCheckpoint(name);
    const c = collector();
    await c.sweep();
    expect(c.divergences().filter((d) => d.ledger === name)).toMatchObject([{ ledger: name, kind: 'fork', validatorSize: 3, checkpointSize: cp.treeSize }]);
    expect(await c.lines(cp.id)).toEqual([]);
    // The validator's record is put right (a restore of its own, say): the log's next checkpoint is cosigned.
    await t.db.dataSource.query(`DELETE FROM witness_state WHERE origin = $1`, [`test.chainproof/${name}`]);
    await append(name, 1);
    const next = await t.service.createCheckpoint(name);
    await c.sweep();
    expect(await c.lines(next.id)).toHaveLength(1);
    expect(c.divergences().filter((d) => d.ledger === name)).toEqual([]);
  });
});

describe('a cosignature that arrives late', () => {
  // A sweep's answer for an older checkpoint can come back after a later checkpoint's was kept
  // (two sweeps, or a sweep and the live feed): the validator's recorded size must not go back,
  // or every later offer starts from a size it has moved past, and costs it a 409 and a retry.
  it('of an older checkpoint leaves the validator\'s recorded size at the later one', async () => {
    const name = await ledger();
    const origin = `test.chainproof/${name}`;
    await append(name, 5);
    const older = await t.service.createCheckpoint(name);
    let cosigned!: () => void;
    const olderCosigned = new Promise<void>((resolve) => (cosigned = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const offered: string[] = [];
    answer = async (body) => {
      if (!body.includes(`${origin}\n`)) return honest(body);
      offered.push(body.slice(0, body.indexOf('\n')));
      const r = await honest(body);
      // The validator has cosigned the older checkpoint; its answer is held until the later one's is kept.
      if (body.includes(`${origin}\n${older.treeSize}\n`)) {
        cosigned();
        await released;
      }
      return r;
    };
    const c = collector();
    const late = c.sweep();
    await olderCosigned;
    await append(name, 7);
    const later = await t.service.createCheckpoint(name);
    await c.sweep(); // old 0, told 5 by a 409, then old 5: cosigned
    expect(offered).toEqual(['old 0', 'old 0', 'old 5']);
    release();
    await late;
    expect(await c.lines(older.id)).toHaveLength(1);
    expect(await c.lines(later.id)).toHaveLength(1);
    const [progress] = await t.db.dataSource.query(`SELECT tree_size FROM validator_progress WHERE witness = $1 AND origin = $2`, [cosigner.verifierKey, origin]);
    expect(Number(progress.tree_size)).toBe(later.treeSize);
    // So the next checkpoint is offered once, from the size the validator did cosign last.
    offered.length = 0;
    await append(name, 3);
    const next = await t.service.createCheckpoint(name);
    await c.sweep();
    expect(offered).toEqual([`old ${later.treeSize}`]);
    expect(await c.lines(next.id)).toHaveLength(1);
  });
});

describe('a validator\'s answer', () => {
  it('of 409 with the size content type but no size is a fork', async () => {
    const name = await ledger();
    await append(name, 5);
    const cp = await t.service.createCheckpoint(name);
    answer = async () => ({ status: 409, contentType: 'text/x.tlog.size', body: 'three\n' });
    const c = collector();
    await c.sweep();
    expect(c.divergences().filter((d) => d.ledger === name)).toMatchObject([{ ledger: name, kind: 'fork', validatorSize: 0, checkpointSize: cp.treeSize }]);
    expect(await c.lines(cp.id)).toEqual([]);
  });

  it('of 409 again, after the size it taught, gets the checkpoint offered once more and no further', async () => {
    const name = await ledger();
    await append(name, 5);
    const cp = await t.service.createCheckpoint(name);
    const offered: string[] = [];
    answer = async (body) => {
      if (!body.includes(`test.chainproof/${name}\n`)) return honest(body);
      offered.push(body.slice(0, body.indexOf('\n')));
      return { status: 409, contentType: 'text/x.tlog.size', body: '3\n' };
    };
    const c = collector();
    await c.sweep();
    expect(offered).toEqual(['old 0', 'old 3']);
    expect(await c.lines(cp.id)).toEqual([]);
    expect(c.divergences().filter((d) => d.ledger === name)).toEqual([]);
  });

  it('other than 200, 409 and 422 is a refusal: a cosignature it carries is not kept', async () => {
    const name = await ledger();
    await append(name, 3);
    const cp = await t.service.createCheckpoint(name);
    answer = async (body) => ({ ...(await honest(body)), status: 503 });
    const c = collector();
    await c.sweep();
    expect(await c.lines(cp.id)).toEqual([]);
    expect(c.divergences().filter((d) => d.ledger === name)).toEqual([]);
  });

  it('of a redirect is not followed: the checkpoint goes nowhere else, and the log names where it pointed', async () => {
    const name = await ledger();
    await append(name, 3);
    const cp = await t.service.createCheckpoint(name);
    let reached = 0;
    answer = async (body) => (reached++, honest(body));
    const redirecting = createServer((_, res) => void res.writeHead(307, { location: `${url}/witness/add-checkpoint` }).end());
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    try {
      const warnings: string[] = [];
      const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
      const from = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`;
      await new CosignatureCollector(t.db.dataSource, t.service, [{ url: from, vkey: cosigner.verifierKey }], log).sweep();
      expect(reached).toBe(0);
      expect(await collector().lines(cp.id)).toEqual([]);
      expect(warnings.some((l) => l.includes(`validator answered with a redirect to ${url}/witness/add-checkpoint`))).toBe(true);
    } finally {
      await new Promise((resolve) => redirecting.close(resolve));
    }
  });

  it('of 409 without the size content type is a fork, whatever its body says', async () => {
    const name = await ledger();
    await append(name, 5);
    const cp = await t.service.createCheckpoint(name);
    answer = async () => ({ status: 409, contentType: 'text/plain; charset=utf-8', body: '3\n' });
    const c = collector();
    await c.sweep();
    expect(c.divergences().filter((d) => d.ledger === name)).toMatchObject([{ ledger: name, kind: 'fork', validatorSize: 0, checkpointSize: cp.treeSize }]);
    expect(await c.lines(cp.id)).toEqual([]);
  });
});

describe('a started collector', () => {
  it('offers each new checkpoint as it is signed, not only at the next sweep', async () => {
    const name = await ledger();
    await append(name, 3);
    const c = collector();
    // No sweep does it here: only the live feed of checkpoints can.
    const sweeps = vi.spyOn(c, 'sweep').mockResolvedValue(undefined);
    await c.start();
    try {
      const cp = await t.service.createCheckpoint(name);
      await vi.waitFor(async () => expect(await c.lines(cp.id)).toHaveLength(1), { timeout: 15_000, interval: 50 });
    } finally {
      await c.stop();
      sweeps.mockRestore();
    }
  });
});

describe('a sweep', () => {
  it('offers a checkpoint again only to validators that have not cosigned it', async () => {
    const name = await ledger();
    await append(name, 4);
    const cp = await t.service.createCheckpoint(name);
    const offered: string[] = [];
    answer = (body) => {
      if (body.includes(`test.chainproof/${name}\n`)) offered.push(body);
      return honest(body);
    };
    const c = collector();
    await c.sweep();
    expect(offered).toHaveLength(1);
    expect(await c.lines(cp.id)).toHaveLength(1);
    await c.sweep();
    expect(offered).toHaveLength(1);
  });
});

describe('stored cosignatures', () => {
  it('are read in the order of their validators\' keys, however they arrived', async () => {
    const name = await ledger();
    await append(name, 2);
    const cp = await t.service.createCheckpoint(name);
    const keys = [cosigner.verifierKey, stranger.verifierKey].sort();
    // Stored last key first (the later validator answered first).
    for (const witness of [...keys].reverse()) {
      await t.db.dataSource.query(`INSERT INTO checkpoint_cosignatures (checkpoint_id, witness, line) VALUES ($1, $2, $3)`, [cp.id, witness, `— ${witness.split('+')[0]} line\n`]);
    }
    const both = new CosignatureCollector(t.db.dataSource, t.service, keys.map((vkey) => ({ url, vkey })), silent);
    expect((await both.lines(cp.id)).map((l) => l.witness)).toEqual(keys);
  });

  it('count only while their validator is configured', async () => {
    const name = await ledger();
    await append(name, 3);
    const cp = await t.service.createCheckpoint(name);
    const c = collector();
    await c.sweep();
    expect(await c.lines(cp.id)).toHaveLength(1);
    // Configured with another validator only: the first one's line is neither shown nor counted.
    const other = new CosignatureCollector(t.db.dataSource, t.service, [{ url, vkey: stranger.verifierKey }], silent);
    expect(await other.lines(cp.id)).toEqual([]);
  });
});
