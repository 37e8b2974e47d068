import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PeerClient } from '../../src/sync/peer-client.js';
import { peerSpec } from '../../src/sync/peer.js';
import { PeerRepinned, pullFrom } from '../../src/sync/pull.js';
import { SyncStore } from '../../src/sync/sync-store.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { servePeer } from '../support/peer-server.js';
import { clientOf, pullDeps } from '../support/pull.js';

const LOCAL_SEED = '11'.repeat(32);

/** `peer`, whose first page is answered only after `answer()`; `firstPageAsked` resolves when it is asked for. */
function heldAtFirstPage(peer: PeerClient): { held: PeerClient; firstPageAsked: Promise<void>; answer: () => void } {
  let asked!: () => void;
  const firstPageAsked = new Promise<void>((r) => (asked = r));
  let answer!: () => void;
  const answered = new Promise<void>((r) => (answer = r));
  const held = {
    ...peer,
    leaves: async (start: number, end: number, size: number) => {
      if (start === 0) {
        asked();
        await answered;
      }
      return peer.leaves(start, end, size);
    },
  } as unknown as PeerClient;
  return { held, firstPageAsked, answer };
}

let local: TestLedger;
let forkA: TestLedger;
let forkB: TestLedger;
let store: SyncStore;
let url: string;

// A liar answers one puller from one ledger and another from a fork of it (clientOf each).
const deps = (client: PeerClient) => pullDeps(local.service, store, client);

async function typesHeld(): Promise<string[]> {
  const rows: Array<{ type: string }> = await local.db.dataSource.query(
    `SELECT e.type FROM events e JOIN ledgers l ON l.id = e.ledger_id WHERE l.name = 'main' ORDER BY e.idx`,
  );
  return rows.map((r) => r.type);
}

beforeAll(async () => {
  local = await openTestLedger({ CHAINPROOF_ORIGIN: 'local.test', CHAINPROOF_SIGNING_SEED: LOCAL_SEED }, { produceBlocks: false });
  // One key, two histories: the same origin signs both.
  forkA = await openTestLedger({ CHAINPROOF_ORIGIN: 'peer.test' }, { produceBlocks: false });
  forkB = await openTestLedger({ CHAINPROOF_ORIGIN: 'peer.test' }, { produceBlocks: false });
  for (const [fork, type] of [[forkA, 'ForkA'], [forkB, 'ForkB']] as const) {
    await fork.service.append('main', [1, 2, 3].map((n) => ({ type, actor: 'writer', payload: { n } })));
    await fork.service.createCheckpoint('main');
  }
  store = new SyncStore(local.db.dataSource);
  url = 'http://peer.test/graphql';
  await store.upsertConfigured(peerSpec(url, forkA.service.verifierKey()!));
}, 120_000);
afterAll(async () => {
  await Promise.all([local, forkA, forkB, large, oldKey, newKey, ghost, relay].map((t) => t?.close()));
});

let large: TestLedger | undefined;
let ghost: TestLedger | undefined;
let relay: TestLedger | undefined;
let oldKey: TestLedger | undefined;
let newKey: TestLedger | undefined;

describe('a pull', () => {
  it('never writes a fork, also when another puller of the same peer stored its checkpoint meanwhile', async () => {
    // Both pullers read the peer's row before either stored a checkpoint (two processes on one database).
    const before = (await store.peer(url))!;
    const first = await pullFrom(before, deps(clientOf(forkA)));
    expect(first.received).toBeGreaterThan(0);
    const noteA = (await forkA.service.syncCheckpoint('main'))!.note;
    const second = pullFrom(before, deps(clientOf(forkB)));
    // Flagged against what the first puller stored: the evidence names both signed roots.
    await expect(second).rejects.toMatchObject({ code: 'PEER_MISBEHAVED', reason: expect.stringMatching(/two different roots/), previousNote: noteA });
    const types = await typesHeld();
    expect(types).toContain('ForkA');
    expect(types).not.toContain('ForkB');
    // What this node checks the peer against is still the first history's.
    const after = (await store.peer(url))!;
    expect(after.checkpointNote).toBe(noteA);
  });

  it('of a page whose answer is over the bound asks for it again in smaller pages, and brings every event', { timeout: 120_000 }, async () => {
    large = await openTestLedger({ CHAINPROOF_ORIGIN: 'large.test', CHAINPROOF_SIGNING_SEED: '22'.repeat(32) }, { produceBlocks: false });
    await large.service.append('main', [1, 2, 3, 4, 5].map((n) => ({ type: 'Large', actor: 'writer', payload: { n } })));
    await large.service.createCheckpoint('main');
    const { server, url: peerUrl, asked } = await servePeer(large, { padPages: true });
    try {
      await store.upsertConfigured(peerSpec(peerUrl, large.service.verifierKey()!));
      const client = new PeerClient(peerUrl, 'local.test/main', undefined, 60_000);
      const result = await pullFrom((await store.peer(peerUrl))!, deps(client));
      expect(result).toMatchObject({ received: 5, toPosition: 5 });
      expect((await typesHeld()).filter((t) => t === 'Large')).toHaveLength(5);
      expect(asked.slice(0, 3)).toEqual([[0, 5], [0, 2], [0, 1]]);
    } finally {
      server.close();
    }
  });

  it('under a key re-pinned meanwhile stops having kept nothing, and the next pull checks every leaf under the new key', { timeout: 120_000 }, async () => {
    oldKey = await openTestLedger({ CHAINPROOF_ORIGIN: 'old.test', CHAINPROOF_SIGNING_SEED: '33'.repeat(32) }, { produceBlocks: false });
    newKey = await openTestLedger({ CHAINPROOF_ORIGIN: 'new.test', CHAINPROOF_SIGNING_SEED: '44'.repeat(32) }, { produceBlocks: false });
    for (const [peer, type] of [[oldKey, 'OldKey'], [newKey, 'NewKey']] as const) {
      await peer.service.append('main', [1, 2, 3, 4].map((n) => ({ type, actor: 'writer', payload: { n } })));
      await peer.service.createCheckpoint('main');
    }
    const peerUrl = 'http://rotating.test/graphql';
    await store.upsertConfigured(peerSpec(peerUrl, oldKey.service.verifierKey()!));
    // The first page is answered only once the peer has been re-pinned (as another process starting with a new configuration would).
    const { held, firstPageAsked, answer } = heldAtFirstPage(clientOf(oldKey));
    const oldPin = (await store.peer(peerUrl))!;
    const pull = pullFrom(oldPin, { ...deps(held), pageSize: 2 });
    pull.catch(() => {});
    await firstPageAsked;
    await store.upsertConfigured(peerSpec(peerUrl, newKey.service.verifierKey()!));
    expect(await store.peer(peerUrl)).toMatchObject({ position: 0, checkpointSize: null });
    answer();
    await expect(pull).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/changed during this sync/) });
    // As a re-pin, which the sync service tells from a failure by its class: not retold as a refusal of the page.
    await expect(pull).rejects.toBeInstanceOf(PeerRepinned);
    // Nothing the old key vouched for was kept: not the leaves, not the position.
    expect(await typesHeld()).not.toContain('OldKey');
    expect(await store.peer(peerUrl)).toMatchObject({ verifierKey: newKey.service.verifierKey(), position: 0, checkpointSize: null });
    // The next pull, under the new key, takes the peer's log from the start.
    const next = await pullFrom((await store.peer(peerUrl))!, { ...deps(clientOf(newKey)), pageSize: 2 });
    expect(next).toMatchObject({ fromPosition: 0, toPosition: 4, received: 4 });
    expect((await typesHeld()).filter((t) => t === 'NewKey')).toHaveLength(4);
    // Nor does a contradiction the old key signed flag the peer now pinned to the new one.
    expect(await store.flag(oldPin, 'PEER_MISBEHAVED: …', 'two different roots')).toBe(false);
    expect(await store.peer(peerUrl)).toMatchObject({ flaggedReason: null, errorCount: 0 });
    // Nor is a sync under the old key the new pin's failure or success.
    const before = await store.peer(peerUrl);
    await store.failed(oldPin, 'error', 'PEER_UNAVAILABLE: gone');
    await store.succeeded(oldPin);
    expect(await store.peer(peerUrl)).toEqual(before);
    await store.failed((await store.peer(peerUrl))!, 'error', 'PEER_UNAVAILABLE: gone');
    expect(await store.peer(peerUrl)).toMatchObject({ status: 'error', errorCount: 1, lastError: 'PEER_UNAVAILABLE: gone' });
  });

  it('under a key pinned away and back meanwhile (A → B → A) stops too: the re-pins cleared the checkpoint its leaves were proven into', { timeout: 120_000 }, async () => {
    const peerUrl = 'http://returning.test/graphql';
    const keyA = oldKey!.service.verifierKey()!;
    await store.upsertConfigured(peerSpec(peerUrl, keyA));
    const { held, firstPageAsked, answer } = heldAtFirstPage(clientOf(oldKey!));
    const startedUnder = (await store.peer(peerUrl))!;
    const pull = pullFrom(startedUnder, { ...deps(held), pageSize: 2 });
    pull.catch(() => {});
    await firstPageAsked;
    await store.upsertConfigured(peerSpec(peerUrl, newKey!.service.verifierKey()!));
    await store.upsertConfigured(peerSpec(peerUrl, keyA));
    const returned = (await store.peer(peerUrl))!;
    expect(returned).toMatchObject({ verifierKey: keyA, pin: startedUnder.pin + 2, position: 0, checkpointSize: null });
    answer();
    await expect(pull).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/changed during this sync/) });
    // The row is as the re-pins left it: no position past leaves whose checkpoint it no longer holds.
    expect(await store.peer(peerUrl)).toEqual(returned);
    // Restating the same key is no re-pin.
    await store.upsertConfigured(peerSpec(peerUrl, keyA));
    expect((await store.peer(peerUrl))!.pin).toBe(returned.pin);
  });

  it('refused at an event of the peer\'s log names that event by its leaf there, not by its place in the page', { timeout: 120_000 }, async () => {
    // Another process ran with this node's key and name (a restored copy, say) and its events reached a peer.
    ghost = await openTestLedger({ CHAINPROOF_ORIGIN: 'local.test', CHAINPROOF_SIGNING_SEED: LOCAL_SEED }, { produceBlocks: false });
    relay = await openTestLedger({ CHAINPROOF_ORIGIN: 'relay.test', CHAINPROOF_SIGNING_SEED: '66'.repeat(32) }, { produceBlocks: false });
    await relay.service.append('main', [1, 2, 3, 4, 5].map((n) => ({ type: 'Relayed', actor: 'writer', payload: { n } })));
    for (const t of [local, ghost]) if (!(await t.service.ledgers()).some((l) => l.name === 'side')) await t.service.createLedger('side', {});
    await ghost.service.append('side', [{ type: 'Ghost', actor: 'writer' }]);
    const ghostSize = (await ghost.service.head('side')).treeSize;
    await relay.service.appendReplicated('main', (await ghost.service.leafRange('side', 0, ghostSize, ghostSize)).leaves);
    await relay.service.createCheckpoint('main');
    const [{ idx }] = await relay.db.dataSource.query(`SELECT e.idx FROM events e JOIN ledgers l ON l.id = e.ledger_id WHERE l.name = 'main' AND e.type = 'Ghost'`);
    const peerUrl = 'http://relay.test/graphql';
    await store.upsertConfigured(peerSpec(peerUrl, relay.service.verifierKey()!));
    const pull = pullFrom((await store.peer(peerUrl))!, { ...deps(clientOf(relay)), pageSize: 4 });
    await expect(pull).rejects.toMatchObject({
      code: 'BAD_EVENT',
      message: `leaf ${idx} of the peer's log: the copy names "local.test/side", a ledger of this node, as its origin`,
      details: { leafIndex: Number(idx) },
    });
    // The pages before it landed; the position stops at the page that holds it.
    expect((await store.peer(peerUrl))!.position).toBe(Math.floor(Number(idx) / 4) * 4);
  });
});
