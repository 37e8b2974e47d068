import canonicalize from 'canonicalize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import { canonicalBytes, type Envelope } from '../../src/ledger/events/envelope.js';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { rootFromRange, treeHasher } from '../../src/ledger/merkle/index.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { tamper } from '../verify/support.js';

// Two nodes: `a` writes, `b` takes copies of a's events byte for byte.
let a: TestLedger;
let b: TestLedger;
const hasher = treeHasher('sha256');
const author = ed25519FromSeed(Buffer.alloc(32, 7));
const did = didKeyFromPublicKey(author.publicKey);

beforeAll(async () => {
  [a, b] = await Promise.all([
    openTestLedger({ CHAINPROOF_ORIGIN: 'a.test' }, { produceBlocks: false }),
    openTestLedger({ CHAINPROOF_ORIGIN: 'b.test' }, { produceBlocks: false }),
  ]);
  await a.service.append('main', [{ type: 'deploy', actor: 'ci', payload: { v: 1 } }, { type: 'deploy', actor: 'ci', payload: { v: 2 } }]);
  await a.service.append('main', [{ type: 'note', actor: 'server' }], { asServer: true });
  const env: Envelope = { ledger: 'a.test/main', type: 'signed', actor: 'alice', author: did, parents: [], hlc: { physicalMs: Date.now(), logical: 0 } };
  const bytes = canonicalBytes(env);
  await a.service.append('main', [{ ...env, signature: author.sign(bytes).toString('hex') }]);
});
afterAll(async () => Promise.all([a?.close(), b?.close()]));

async function pull(start: number, end: number) {
  const size = (await a.service.head('main')).treeSize;
  return a.service.leafRange('main', start, end, size);
}

describe('leaf ranges with a range proof', () => {
  it('rebuild the root of the tree they were served from, and nothing else does', async () => {
    const head = await a.service.head('main');
    const r = await pull(1, 3);
    const leaves = r.leaves.map((l) => hasher.leafHash(l.canonical));
    expect(rootFromRange(hasher, 1, leaves, head.treeSize, r.proof)?.toString('hex')).toBe(head.rootHash);
    expect(rootFromRange(hasher, 1, [leaves[1]!, leaves[0]!], head.treeSize, r.proof)?.toString('hex')).not.toBe(head.rootHash);
    expect(rootFromRange(hasher, 0, leaves, head.treeSize, r.proof)?.toString('hex')).not.toBe(head.rootHash);
    expect(rootFromRange(hasher, 1, leaves, head.treeSize, [...r.proof, r.proof[0]!])).toBeNull();
    expect(rootFromRange(hasher, 1, leaves, head.treeSize, r.proof.slice(1))).toBeNull();
  });

  it('are refused outside the tree and beyond the per-call limit', async () => {
    await expect(a.service.leafRange('main', 0, 99, 99)).rejects.toMatchObject({ code: 'PROOF_OUT_OF_RANGE' });
    await expect(a.service.leafRange('main', 2, 2, 4)).rejects.toMatchObject({ code: 'PROOF_OUT_OF_RANGE' });
  });
});

describe('replicated appends', () => {
  it('refuse a copy that names another ledger of the receiving node as its origin', async () => {
    await b.service.createLedger('keys', {});
    const before = (await b.service.head('main')).treeSize;
    const canonical = Buffer.from(canonicalize({ actor: 'x', hlc: { logical: 0, physicalMs: Date.now() }, ledger: 'b.test/keys', parents: [], type: 'ApiKeyCreated' })!);
    await expect(b.service.appendReplicated('main', [{ canonical, signature: null }])).rejects.toMatchObject({ code: 'BAD_EVENT' });
    expect((await b.service.head('main')).treeSize).toBe(before);
  });

  it('refuse a copy whose origin PostgreSQL could not store (a NUL), as a bad event, writing nothing', async () => {
    const before = (await b.service.head('main')).treeSize;
    const canonical = Buffer.from(canonicalize({ actor: 'x', hlc: { logical: 0, physicalMs: Date.now() }, ledger: 'peer\u0000x/main', parents: [], type: 't' })!);
    await expect(b.service.appendReplicated('main', [{ canonical, signature: null }])).rejects.toMatchObject({ code: 'BAD_EVENT' });
    expect((await b.service.head('main')).treeSize).toBe(before);
  });

  it('keep the bytes and ids, record the origin, and verify on the receiving node', async () => {
    const r = await pull(0, 4);
    const copies = await b.service.appendReplicated('main', r.leaves);
    const originals = await Promise.all([0, 1, 2, 3].map((i) => a.service.eventAt('main', i)));
    expect(copies.map((e) => e.id)).toEqual(originals.map((e) => e!.id));
    expect(copies.every((e) => e.origin === 'a.test/main')).toBe(true);
    expect(copies[3]!.signature).toBe(originals[3]!.signature);
    const stored = await b.service.event('main', copies[0]!.id);
    expect(stored!.canonical.equals(originals[0]!.canonical)).toBe(true);
    expect(stored!.origin).toBe('a.test/main');
    const report = await b.service.verify('main', true);
    expect(report.issues).toEqual([]);
    expect(report.status).toBe('VALID');
  });

  it("behind a lead event of the server's own, keep the signatures they came with: only the lead is signed by this server", async () => {
    await b.service.createLedger('led', {});
    const r = await pull(0, 4);
    expect(r.leaves.map((l) => l.signature === null)).toEqual([true, true, false, false]);
    const copies = await b.service.appendReplicated('led', r.leaves, { lead: { type: 'sync.pulled', actor: 'sync' } });
    expect(copies.map((e) => e.signature)).toEqual(r.leaves.map((l) => l.signature?.toString('hex') ?? null));
    const stored = await Promise.all([0, 1, 2, 3, 4].map((i) => b.service.eventAt('led', i)));
    expect(stored[0]).toMatchObject({ type: 'sync.pulled', author: expect.stringMatching(/^did:key:z/) });
    expect(stored[0]!.signature).toMatch(/^[0-9a-f]{128}$/);
    expect(stored.slice(1).map((e) => e!.signature)).toEqual(r.leaves.map((l) => l.signature?.toString('hex') ?? null));
    const report = await b.service.verify('led', true);
    expect(report.issues).toEqual([]);
    expect(report.status).toBe('VALID');
  });

  it('skip copies already present', async () => {
    const before = await b.service.head('main');
    const again = await b.service.appendReplicated('main', (await pull(0, 4)).leaves);
    expect(again).toHaveLength(4);
    expect((await b.service.head('main')).treeSize).toBe(before.treeSize);
  });

  it('show concurrent writes as branches, which the next local event merges', async () => {
    await b.service.append('main', [{ type: 'local', actor: 'b' }]);
    const [fresh] = await a.service.append('main', [{ type: 'remote', actor: 'a' }]);
    await b.service.appendReplicated('main', (await pull(4, 5)).leaves);
    expect((await b.service.head('main')).tips).toBe(2);
    const [merge] = await b.service.append('main', [{ type: 'merge', actor: 'b' }]);
    expect(merge!.parents).toHaveLength(2);
    expect(merge!.parents).toContain(fresh!.id);
    expect((await b.service.head('main')).tips).toBe(1);
    expect((await b.service.verify('main', true)).status).toBe('VALID');
  });

  it('take all of a batch or none of it', async () => {
    const before = await b.service.head('main');
    await a.service.append('main', [{ type: 'x', actor: 'a' }, { type: 'y', actor: 'a' }]);
    const { leaves } = await pull(5, 7);
    const orphan = canonicalBytes({ ledger: 'a.test/main', type: 't', actor: 'x', parents: ['ab'.repeat(32)], hlc: { physicalMs: 1, logical: 0 } });
    await expect(b.service.appendReplicated('main', [...leaves, { canonical: orphan, signature: null }]))
      .rejects.toMatchObject({ code: 'UNKNOWN_PARENT' });

    const signed = (await pull(3, 4)).leaves[0]!;
    const tampered = Buffer.from(signed.canonical.toString().replace('"alice"', '"mallory"'));
    await expect(b.service.appendReplicated('main', [leaves[0]!, { canonical: tampered, signature: signed.signature }]))
      .rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    // A signature that is not 64 bytes is refused as one, not handed to Ed25519.
    await expect(b.service.appendReplicated('main', [leaves[0]!, { canonical: signed.canonical, signature: signed.signature!.subarray(0, 63) }]))
      .rejects.toMatchObject({ code: 'BAD_SIGNATURE', message: expect.stringContaining('signature must be 64 bytes (Ed25519)') });
    const ours = canonicalBytes({ ledger: 'b.test/main', type: 't', actor: 'x', parents: [], hlc: { physicalMs: 1, logical: 0 } });
    await expect(b.service.appendReplicated('main', [leaves[0]!, { canonical: ours, signature: null }])).rejects.toMatchObject({ code: 'BAD_EVENT' });
    const loose = Buffer.from(leaves[0]!.canonical.toString().replace('{', '{ '));
    await expect(b.service.appendReplicated('main', [{ canonical: loose, signature: null }])).rejects.toMatchObject({ code: 'BAD_EVENT' });
    expect((await b.service.head('main')).treeSize).toBe(before.treeSize);

    await b.service.appendReplicated('main', leaves);
    expect((await b.service.head('main')).treeSize).toBe(before.treeSize + 2);
    expect((await b.service.verify('main', true)).status).toBe('VALID');
  });

  it('are refused when stamped further ahead of this clock than a client may stamp, and change nothing', async () => {
    const before = await b.service.head('main');
    const future = (physicalMs: number, logical = 0) =>
      ({ canonical: canonicalBytes({ ledger: 'a.test/main', type: 'ahead', actor: 'x', parents: [], hlc: { physicalMs, logical } }), signature: null });
    await expect(b.service.appendReplicated('main', [future(Number.MAX_SAFE_INTEGER, 0x7fffffff)])).rejects.toMatchObject({ code: 'HLC_OUT_OF_SKEW' });
    await expect(b.service.appendReplicated('main', [future(Date.now() + 10 * 60_000)])).rejects.toMatchObject({ code: 'HLC_OUT_OF_SKEW' });
    expect(await b.service.head('main')).toEqual(before);
    // Within the skew, and anywhere in the past, a copy is taken; the next local event is stamped after it.
    const [near] = await b.service.appendReplicated('main', [future(Date.now() + 5_000)]);
    const [next] = await b.service.append('main', [{ type: 'local', actor: 'b' }]);
    expect(next!.hlc.physicalMs).toBeGreaterThanOrEqual(near!.hlc.physicalMs);
  });

  it('are refused when their bytes are not UTF-8, though they decode to canonical text, and change nothing', async () => {
    const before = await b.service.head('main');
    const bytes = canonicalBytes({ ledger: 'a.test/main', type: 'copied', actor: 'peer', payload: 'X', parents: [], hlc: { physicalMs: Date.now() - 1000, logical: 0 } });
    // 0xFF decodes to U+FFFD, whose canonical text is the decoded text: only the bytes tell.
    bytes[bytes.indexOf('"X"') + 1] = 0xff;
    await expect(b.service.appendReplicated('main', [{ canonical: bytes, signature: null }])).rejects.toMatchObject({ code: 'BAD_EVENT' });
    expect(await b.service.head('main')).toEqual(before);
    expect((await b.service.verify('main', true)).status).toBe('VALID');
  });

  it('are held to the payload depth a local append is held to, and change nothing', async () => {
    const before = await b.service.head('main');
    const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);
    const copy = (depth: number) => ({
      // The canonical text given outright: this node's own canonicaliser refuses to write such a payload.
      canonical: canonicalBytes(
        { ledger: 'a.test/main', type: 'deep', actor: 'peer', payload: nested(depth), parents: [], hlc: { physicalMs: Date.now() - 1000, logical: 0 } },
        JSON.stringify(nested(depth)),
      ),
      signature: null,
    });
    await expect(b.service.appendReplicated('main', [copy(65)])).rejects.toMatchObject({ code: 'BAD_EVENT', message: expect.stringContaining('deeper than 64') });
    await expect(b.service.appendReplicated('main', [copy(1000)])).rejects.toMatchObject({ code: 'BAD_EVENT' });
    expect(await b.service.head('main')).toEqual(before);
    expect(await b.service.appendReplicated('main', [copy(64)])).toHaveLength(1);
  });

  it('are held to the payload size a local append is held to (64 KiB here), and change nothing', async () => {
    const before = await b.service.head('main');
    const copy = (chars: number) => ({
      canonical: canonicalBytes({ ledger: 'a.test/main', type: 'big', actor: 'peer', payload: { text: 'x'.repeat(chars) }, parents: [], hlc: { physicalMs: Date.now() - 1000, logical: 0 } }),
      signature: null,
    });
    await expect(b.service.appendReplicated('main', [copy(70_000)])).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(await b.service.head('main')).toEqual(before);
    expect(await b.service.appendReplicated('main', [copy(60_000)])).toHaveLength(1);
  });

  it('are checked against the origin they were synced from', async () => {
    const ledgerId = (await b.service.ledger('main')).id;
    await tamper(b.db.dataSource, [`UPDATE events SET origin = 'elsewhere.test/main' WHERE ledger_id = $1 AND idx = 0`, [ledgerId]]);
    const report = await b.service.verify('main', true);
    expect(report.status).toBe('INVALID');
    expect(report.issues).toEqual([expect.objectContaining({ kind: 'EVENT_MALFORMED', index: 0 })]);
    expect(report.issues[0]!.message).toContain('not the origin it was synced from "elsewhere.test/main"');
  });
});
