import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noteSignerFromSeed } from '../../src/ledger/note/index.js';
import { peerSpec } from '../../src/sync/peer.js';
import { SyncStore } from '../../src/sync/sync-store.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

const keyA = noteSignerFromSeed('store-peer.test', Buffer.alloc(32, 5)).verifierKey;
const keyB = noteSignerFromSeed('store-peer.test', Buffer.alloc(32, 6)).verifierKey;
const root = (b: number) => Buffer.alloc(32, b);

let t: TestLedger;
let store: SyncStore;
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
  store = new SyncStore(t.db.dataSource);
});
afterAll(async () => t?.close());

let n = 0;
/** A configured peer of its own, with a checkpoint of size 4 stored and its position at 4. */
async function syncedPeer() {
  const url = `http://store-${n++}.test/graphql`;
  await store.upsertConfigured(peerSpec(url, keyA));
  const fresh = (await store.peer(url))!;
  expect(await store.sawCheckpoint(fresh, 4, root(1), 'note-4', 12)).toBe(true);
  expect(await store.advance(fresh, 4, 4)).toBe(true);
  return (await store.peer(url))!;
}

describe('a configured peer', () => {
  it('restated with its key keeps its pin, position, checkpoint and flag', async () => {
    const p = await syncedPeer();
    expect(await store.flag(p, 'PEER_MISBEHAVED: two roots', 'two roots')).toBe(true);
    await store.upsertConfigured(peerSpec(p.url, keyA));
    expect(await store.peer(p.url)).toMatchObject({ pin: p.pin, position: 4, checkpointSize: 4, checkpointRoot: root(1), checkpointNote: 'note-4', flaggedReason: 'two roots' });
  });

  it('given a new key starts afresh: a new pin, position 0, no checkpoint and no flag', async () => {
    const p = await syncedPeer();
    await store.flag(p, 'PEER_MISBEHAVED: two roots', 'two roots');
    await store.upsertConfigured(peerSpec(p.url, keyB));
    expect(await store.peer(p.url)).toMatchObject({ verifierKey: keyB, pin: p.pin + 1, position: 0, checkpointSize: null, checkpointRoot: null, checkpointNote: null, flaggedReason: null });
  });

  it('configured where an admin added it becomes a configured peer', async () => {
    const url = `http://store-${n++}.test/graphql`;
    expect(await store.create(peerSpec(url, keyA))).toMatchObject({ source: 'admin' });
    await store.upsertConfigured(peerSpec(url, keyA));
    expect(await store.peer(url)).toMatchObject({ source: 'config', verifierKey: keyA });
  });

  it('added by an admin where one is configured already is refused, the configured one kept', async () => {
    const p = await syncedPeer();
    await expect(store.create(peerSpec(p.url, keyB))).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await store.peer(p.url)).toMatchObject({ verifierKey: keyA, source: 'config', position: 4 });
    const made = await store.create(peerSpec('http://admin-made.test/graphql', keyB));
    expect(made).toMatchObject({ source: 'admin', position: 0, verifierKey: keyB, origin: 'store-peer.test/main' });
  });
});

describe('a checkpoint seen from a peer', () => {
  it('is stored only in place of the one it was checked against, or again in place of itself', async () => {
    const p = await syncedPeer();
    expect(await store.sawCheckpoint(p, 6, root(2), 'note-6', 5)).toBe(true);
    // Checked against size 4, but another pull stored size 6 meanwhile.
    expect(await store.sawCheckpoint(p, 7, root(3), 'note-7', 5)).toBe(false);
    expect(await store.peer(p.url)).toMatchObject({ checkpointSize: 6, checkpointRoot: root(2), checkpointNote: 'note-6' });
    // The very checkpoint stored: nothing lost by storing it again.
    expect(await store.sawCheckpoint(p, 6, root(2), 'note-6', 9)).toBe(true);
    expect(await store.peer(p.url)).toMatchObject({ checkpointSize: 6, latencyMs: 9 });
    // Another root at the stored size is not that checkpoint.
    expect(await store.sawCheckpoint(p, 6, root(4), 'note-6b', 9)).toBe(false);
    expect(await store.peer(p.url)).toMatchObject({ checkpointRoot: root(2) });
  });

  it('is not stored where another of the same size but another root was stored meanwhile', async () => {
    const p = await syncedPeer();
    // Another pull, checked against the same size-4 checkpoint, stored a size-4 checkpoint of another root.
    expect(await store.sawCheckpoint(p, 4, root(7), 'note-4b', 5)).toBe(true);
    expect(await store.sawCheckpoint(p, 6, root(2), 'note-6', 5)).toBe(false);
    expect(await store.peer(p.url)).toMatchObject({ checkpointSize: 4, checkpointRoot: root(7), checkpointNote: 'note-4b' });
  });

  it('is not stored under a pin that is no longer current', async () => {
    const p = await syncedPeer();
    await store.upsertConfigured(peerSpec(p.url, keyB));
    await store.upsertConfigured(peerSpec(p.url, keyA));
    // The row's checkpoint was cleared: the old pin's checkedAgainst (size 4) no longer matches, nor does its pin.
    const stale = { ...p, checkpointSize: null, checkpointRoot: null };
    expect(await store.sawCheckpoint(stale, 6, root(2), 'note-6', 5)).toBe(false);
    expect(await store.peer(p.url)).toMatchObject({ checkpointSize: null });
  });
});

describe('a peer\'s position', () => {
  it('only moves on, counting what each step received', async () => {
    const p = await syncedPeer();
    expect(await store.advance(p, 9, 5)).toBe(true);
    expect(await store.advance(p, 6, 0)).toBe(true);
    expect(await store.peer(p.url)).toMatchObject({ position: 9, eventsReceived: 9 });
  });

  it('does not move under a pin that is no longer current', async () => {
    const p = await syncedPeer();
    await store.upsertConfigured(peerSpec(p.url, keyB));
    expect(await store.advance(p, 9, 5)).toBe(false);
    expect(await store.peer(p.url)).toMatchObject({ position: 0, eventsReceived: 4 });
  });
});

describe('a sync\'s outcome', () => {
  it('counts each failure and clears the last error on success', async () => {
    const p = await syncedPeer();
    await store.failed(p, 'disconnected', 'PEER_UNAVAILABLE: down');
    await store.failed({ url: p.url }, 'error', 'INTERNAL: no row');
    expect(await store.peer(p.url)).toMatchObject({ status: 'error', errorCount: 2, lastError: 'INTERNAL: no row', lastSuccessAt: null });
    await store.succeeded(p);
    const after = (await store.peer(p.url))!;
    expect(after).toMatchObject({ status: 'connected', errorCount: 2, lastError: null });
    expect(after.lastSuccessAt).toBeInstanceOf(Date);
  });

  it('of a sync under a pin that is no longer current is neither the new pin\'s success nor its failure', async () => {
    const p = await syncedPeer();
    await store.upsertConfigured(peerSpec(p.url, keyB));
    const repinned = await store.peer(p.url);
    await store.failed(p, 'error', 'PEER_UNAVAILABLE: gone');
    await store.succeeded(p);
    expect(await store.flag(p, 'PEER_MISBEHAVED: two roots', 'two roots')).toBe(false);
    expect(await store.peer(p.url)).toEqual(repinned);
  });

  it('keeps at most 2000 characters of an error', async () => {
    const p = await syncedPeer();
    await store.failed(p, 'error', `PEER_MISBEHAVED: ${'x'.repeat(5000)}`);
    expect((await store.peer(p.url))!.lastError).toBe(`PEER_MISBEHAVED: ${'x'.repeat(5000)}`.slice(0, 2000));
  });

  it('flags a peer with the first reason it was flagged for', async () => {
    const p = await syncedPeer();
    expect(await store.flag(p, 'PEER_MISBEHAVED: first', 'first reason')).toBe(true);
    expect(await store.flag(p, 'PEER_MISBEHAVED: second', 'second reason')).toBe(true);
    expect(await store.peer(p.url)).toMatchObject({ flaggedReason: 'first reason', lastError: 'PEER_MISBEHAVED: second', errorCount: 2, status: 'error' });
  });
});

describe('events sent to a peer', () => {
  it('add up by the origin it named', async () => {
    const p = await syncedPeer();
    await store.sent(p.origin, 3);
    await store.sent(p.origin, 4);
    expect((await store.peer(p.url))!.eventsSent).toBe(7);
  });
});
