import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerTooLarge, type PeerClient } from '../../src/sync/peer-client.js';
import { peerSpec } from '../../src/sync/peer.js';
import { PeerRepinned, pullFrom } from '../../src/sync/pull.js';
import { SyncStore } from '../../src/sync/sync-store.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { clientOf, pullDeps } from '../support/pull.js';

const PEER_SEED = '55'.repeat(32);

let local: TestLedger;
/** The peer, and two other histories signed with its key and name (it lied, or was restored). */
let peer: TestLedger;
let forkOf3: TestLedger;
let forkOf4: TestLedger;
let impostor: TestLedger;
let store: SyncStore;
const leases: TestLedger[] = [];

const deps = (client: PeerClient, pageSize?: number) => pullDeps(local.service, store, client, pageSize);

async function countOf(type: string): Promise<number> {
  const [{ n }] = await local.db.dataSource.query(`SELECT count(*)::int AS n FROM events e JOIN ledgers l ON l.id = e.ledger_id WHERE l.name = 'main' AND e.type = $1`, [type]);
  return n;
}

let urls = 0;
async function pinned(to: TestLedger = peer) {
  const url = `http://checked-${urls++}.test/graphql`;
  await store.upsertConfigured(peerSpec(url, to.service.verifierKey()!));
  return (await store.peer(url))!;
}
const again = async (url: string) => (await store.peer(url))!;

/** The store, but its first `method` call re-pins the peer at `url` to the impostor's key first, as another process would. */
function repinnedAtFirst(method: 'advance' | 'sawCheckpoint', url: string): SyncStore {
  const racing = Object.create(store) as SyncStore;
  let raced = false;
  const real = (store[method] as (...args: unknown[]) => Promise<unknown>).bind(store);
  Object.assign(racing, {
    [method]: async (...args: unknown[]) => {
      if (!raced) {
        raced = true;
        await store.upsertConfigured(peerSpec(url, impostor.service.verifierKey()!));
      }
      return real(...args);
    },
  });
  return racing;
}

beforeAll(async () => {
  local = await openTestLedger({ CHAINPROOF_ORIGIN: 'puller.test', CHAINPROOF_SIGNING_SEED: '12'.repeat(32) }, { produceBlocks: false });
  peer = await openTestLedger({ CHAINPROOF_ORIGIN: 'checked.test', CHAINPROOF_SIGNING_SEED: PEER_SEED }, { produceBlocks: false });
  forkOf3 = await openTestLedger({ CHAINPROOF_ORIGIN: 'checked.test', CHAINPROOF_SIGNING_SEED: PEER_SEED }, { produceBlocks: false });
  forkOf4 = await openTestLedger({ CHAINPROOF_ORIGIN: 'checked.test', CHAINPROOF_SIGNING_SEED: PEER_SEED }, { produceBlocks: false });
  impostor = await openTestLedger({ CHAINPROOF_ORIGIN: 'checked.test', CHAINPROOF_SIGNING_SEED: '57'.repeat(32) }, { produceBlocks: false });
  leases.push(local, peer, forkOf3, forkOf4, impostor);
  await peer.service.append('main', [1, 2, 3].map((n) => ({ type: 'Genuine', actor: 'writer', payload: { n } })));
    await peer.service.createCheckpoint('main');
  await forkOf3.service.append('main', [1, 2, 3].map((n) => ({ type: 'Forked', actor: 'writer', payload: { n } })));
    await forkOf3.service.createCheckpoint('main');
  await forkOf4.service.append('main', [1, 2, 3, 4].map((n) => ({ type: 'Forked', actor: 'writer', payload: { n } })));
    await forkOf4.service.createCheckpoint('main');
  await impostor.service.append('main', [1, 2, 3].map((n) => ({ type: 'Impostor', actor: 'writer', payload: { n } })));
    await impostor.service.createCheckpoint('main');
  store = new SyncStore(local.db.dataSource);
}, 120_000);
afterAll(async () => {
  await Promise.all(leases.map((t) => t.close()));
});

describe('a pull checks the peer\'s checkpoint', () => {
  it('signed by its pinned key: another key under the same name gets nothing appended', async () => {
    const p = await pinned();
    await expect(pullFrom(p, deps(clientOf(impostor)))).rejects.toMatchObject({ code: 'PEER_MISBEHAVED', message: expect.stringMatching(/not signed by the pinned key/) });
    expect(await countOf('Impostor')).toBe(0);
    expect(await again(p.url)).toMatchObject({ position: 0, checkpointSize: null });
  });

  it('for its synced ledger: a checkpoint of another of its ledgers gets nothing appended', async () => {
    if (!(await peer.service.ledgers()).some((l) => l.name === 'side')) await peer.service.createLedger('side', {});
    await peer.service.append('side', [{ type: 'SideOnly', actor: 'writer' }]);
    await peer.service.createCheckpoint('side');
    const p = await pinned();
    await expect(pullFrom(p, deps(clientOf(peer, {}, 'side')))).rejects.toMatchObject({ code: 'PEER_MISBEHAVED', message: expect.stringMatching(/is for checked\.test\/side, not checked\.test\/main/) });
    expect(await countOf('SideOnly')).toBe(0);
  });

  it('and the leaves by their range proof into it: a page without its proof, or of other leaves, gets nothing appended', async () => {
    const p = await pinned();
    const noProof = clientOf(peer, { leaves: async (s: number, e: number, n: number) => ({ ...(await clientOf(peer).leaves(s, e, n)), proof: [] }) });
    // Pages of two: the first page's proof is what ties it to the root of size 3.
    await expect(pullFrom(p, deps(noProof, 2))).rejects.toMatchObject({ code: 'PEER_MISBEHAVED', message: expect.stringMatching(/do not rebuild the root/) });
    const otherLeaves = clientOf(peer, { leaves: (s: number, e: number, n: number) => clientOf(forkOf3).leaves(s, e, n) });
    await expect(pullFrom(await again(p.url), deps(otherLeaves, 2))).rejects.toMatchObject({ code: 'PEER_MISBEHAVED' });
    expect(await countOf('Genuine')).toBe(0);
    expect(await countOf('Forked')).toBe(0);
    expect(await again(p.url)).toMatchObject({ position: 0 });
  });

  it('against the one it stored, even before any of its leaves landed: another root for that size flags the peer', async () => {
    const p = await pinned();
    const badLeaves = clientOf(peer, { leaves: (s: number, e: number, n: number) => clientOf(forkOf3).leaves(s, e, n) });
    await expect(pullFrom(p, deps(badLeaves))).rejects.toMatchObject({ code: 'PEER_MISBEHAVED' });
    const stored = await again(p.url);
    expect(stored).toMatchObject({ position: 0, checkpointSize: 3 });
    await expect(pullFrom(stored, deps(clientOf(forkOf3)))).rejects.toMatchObject({ code: 'PEER_MISBEHAVED', reason: expect.stringMatching(/two different roots for size 3/) });
    expect(await countOf('Forked')).toBe(0);
  });
});

describe('a pull of a peer whose log grew', () => {
  it('needs a consistency proof from the checkpoint it stored: none at all flags the peer', async () => {
    const grown = await openTestLedger({ CHAINPROOF_ORIGIN: 'grown.test', CHAINPROOF_SIGNING_SEED: '58'.repeat(32) }, { produceBlocks: false });
    leases.push(grown);
    await grown.service.append('main', [1, 2, 3].map((n) => ({ type: 'Grown', actor: 'writer', payload: { n } })));
    await grown.service.createCheckpoint('main');
    const p = await pinned(grown);
    expect(await pullFrom(p, deps(clientOf(grown)))).toMatchObject({ received: 3, toPosition: 3 });
    await grown.service.append('main', [4, 5].map((n) => ({ type: 'Grown', actor: 'writer', payload: { n } })));
    await grown.service.createCheckpoint('main');
    const noProof = clientOf(grown, { consistency: async () => [] });
    await expect(pullFrom(await again(p.url), deps(noProof))).rejects.toMatchObject({ code: 'PEER_MISBEHAVED', reason: expect.stringMatching(/not consistent/) });
    expect(await countOf('Grown')).toBe(3);
    // With its proof, the same growth is taken.
    expect(await pullFrom(await again(p.url), deps(clientOf(grown)))).toMatchObject({ fromPosition: 3, toPosition: 5, received: 2 });
    // Taken whole: the next pull asks for no leaves.
    const idle = clientOf(grown, { leaves: async () => { throw new Error('asked for leaves past the checkpoint'); } });
    expect(await pullFrom(await again(p.url), deps(idle))).toMatchObject({ fromPosition: 5, toPosition: 5, received: 0, skipped: 0, substantive: false });
    expect(await again(p.url)).toMatchObject({ position: 5, checkpointSize: 5, eventsReceived: 5 });
  });

  it('flags a peer whose checkpoint is smaller by one than the one it signed before', async () => {
    const p = await pinned();
    await peer.service.append('main', [{ type: 'Genuine', actor: 'writer', payload: { n: 4 } }, { type: 'Genuine', actor: 'writer', payload: { n: 5 } }]);
    await peer.service.createCheckpoint('main');
    const size = (await peer.service.head('main')).treeSize;
    expect(await pullFrom(p, deps(clientOf(peer)))).toMatchObject({ checkpointSize: size });
    // A history one shorter, under the same key: forkOf4 is of that size only if the peer's is 5.
    expect((await forkOf4.service.head('main')).treeSize).toBe(size - 1);
    await expect(pullFrom(await again(p.url), deps(clientOf(forkOf4)))).rejects.toMatchObject({ code: 'PEER_MISBEHAVED', reason: expect.stringMatching(/smaller than the one of size/) });
    expect(await again(p.url)).toMatchObject({ checkpointSize: size });
  });

  it('by one leaf needs its consistency proof too: another history one longer flags the peer, its last leaf not appended', async () => {
    const p = await pinned(forkOf3);
    expect(await pullFrom(p, deps(clientOf(forkOf3)))).toMatchObject({ received: 3, toPosition: 3 });
    // forkOf4 is another history under the same key, one leaf longer: its leaf 3 is proven into its own root.
    await expect(pullFrom(await again(p.url), deps(clientOf(forkOf4)))).rejects.toMatchObject({ code: 'PEER_MISBEHAVED', reason: expect.stringMatching(/size 4 is not consistent with the one of size 3/) });
    expect(await countOf('Forked')).toBe(3);
    expect(await again(p.url)).toMatchObject({ position: 3, checkpointSize: 3 });
  });
});

describe('a pull of leaves this node holds already', () => {
  it('moves the position on, counting them as skipped', async () => {
    const first = await pinned();
    const r1 = await pullFrom(first, deps(clientOf(peer), 2));
    const size = r1.checkpointSize;
    // The same log under a second URL (the peer reached another way): every leaf is held.
    const second = await pinned();
    const r2 = await pullFrom(second, deps(clientOf(peer), 2));
    expect(r2).toMatchObject({ fromPosition: 0, toPosition: size, received: 0, skipped: size });
    expect(await again(second.url)).toMatchObject({ position: size, eventsReceived: 0 });
  });

  it('stops as re-pinned when the peer is re-pinned while a page of them moves the position on', async () => {
    await pullFrom(await pinned(), deps(clientOf(peer), 2));
    // The same log under a second URL, re-pinned to another key as its first page of held leaves moves the position.
    const second = await pinned();
    const racing = repinnedAtFirst('advance', second.url);
    await expect(pullFrom(second, { ...deps(clientOf(peer), 2), store: racing })).rejects.toBeInstanceOf(PeerRepinned);
    expect(await again(second.url)).toMatchObject({ position: 0, checkpointSize: null });
  });

  it('is worth recording when one event of a page is new, the rest held', async () => {
    const first = await pinned();
    await pullFrom(first, deps(clientOf(peer)));
    await peer.service.append('main', [{ type: 'Genuine', actor: 'writer', payload: { n: 'late' } }]);
    await peer.service.createCheckpoint('main');
    const starts = async () => (await local.db.dataSource.query(`SELECT count(*)::int AS n FROM events WHERE type = 'SyncStarted' AND origin IS NULL`))[0].n as number;
    const recorded = await starts();
    // The same log under a second URL: one page, every leaf held but the newest.
    const r = await pullFrom(await pinned(), deps(clientOf(peer)));
    expect(r).toMatchObject({ fromPosition: 0, toPosition: r.checkpointSize, received: 1, skipped: r.checkpointSize - 1, substantive: true });
    expect(await starts()).toBe(recorded + 1);
  });
});

describe('a pull that brought only sync bookkeeping', () => {
  it('is not worth recording; one page with any other event is, even an event typed like bookkeeping in another subsystem', async () => {
    const chatty = await openTestLedger({ CHAINPROOF_ORIGIN: 'chatty.test', CHAINPROOF_SIGNING_SEED: '59'.repeat(32) }, { produceBlocks: false });
    leases.push(chatty);
    const bookkeeping = (n: number, type = 'SyncCompleted') => ({ type, actor: 'chainproof/sync', subsystem: 'sync', payload: { n } });
    await chatty.service.append('main', ['SyncStarted', 'SyncCompleted', 'ConflictDetected', 'PeerFlagged'].map((type, n) => bookkeeping(n, type)));
    await chatty.service.createCheckpoint('main');
    const p = await pinned(chatty);
    // This node's own records of a sync: the peer's SyncStarted comes over as a copy.
    const ownStarts = async () =>
      (await local.db.dataSource.query(`SELECT count(*)::int AS n FROM events WHERE type = 'SyncStarted' AND origin IS NULL`))[0].n as number;
    const recorded = await ownStarts();
    const quiet = await pullFrom(p, deps(clientOf(chatty)));
    expect(quiet).toMatchObject({ received: 4, substantive: false });
    expect(await ownStarts()).toBe(recorded);

    await chatty.service.append('main', [{ type: 'SyncCompleted', actor: 'billing', subsystem: 'billing', payload: { n: 3 } }]);
    await chatty.service.createCheckpoint('main');
    const lookalike = await pullFrom(await again(p.url), deps(clientOf(chatty)));
    expect(lookalike).toMatchObject({ received: 1, substantive: true });
    expect(await ownStarts()).toBe(recorded + 1);

    await chatty.service.append('main', [bookkeeping(4), { type: 'Invoice', actor: 'billing', payload: { n: 5 } }, bookkeeping(6)]);
    await chatty.service.createCheckpoint('main');
    const mixed = await pullFrom(await again(p.url), deps(clientOf(chatty)));
    expect(mixed).toMatchObject({ received: 3, substantive: true });
    expect(await ownStarts()).toBe(recorded + 2);
  });
});

describe('a pull of a peer whose log is empty', () => {
  it('brings nothing and stores no checkpoint', async () => {
    const p = await pinned();
    expect(await pullFrom(p, deps(clientOf(peer, { checkpoint: async () => null })))).toEqual({
      fromPosition: 0, toPosition: 0, checkpointSize: 0, checkpointRoot: '', received: 0, skipped: 0, substantive: false,
    });
    expect(await again(p.url)).toMatchObject({ position: 0, checkpointSize: null, checkpointNote: null });
  });

  it('after one that signed a checkpoint fails as misbehaving, and keeps the checkpoint and position reached', async () => {
    const first = await pinned();
    const synced = await pullFrom(first, deps(clientOf(peer)));
    const p = await again(first.url);
    expect(p).toMatchObject({ position: synced.toPosition, checkpointSize: synced.checkpointSize });
    await expect(pullFrom(p, deps(clientOf(peer, { checkpoint: async () => null })))).rejects.toMatchObject({
      code: 'PEER_MISBEHAVED', message: `it answers that its log is empty, but it signed a checkpoint of size ${synced.checkpointSize} before`,
    });
    expect(await again(p.url)).toMatchObject({ position: synced.toPosition, checkpointSize: synced.checkpointSize, checkpointNote: p.checkpointNote, flaggedReason: null });
  });
});

describe('a pull over several pages', () => {
  it('records one SyncStarted, from where the pull started, though its first pages were only bookkeeping', async () => {
    const paged = await openTestLedger({ CHAINPROOF_ORIGIN: 'paged.test', CHAINPROOF_SIGNING_SEED: '5b'.repeat(32) }, { produceBlocks: false });
    leases.push(paged);
    const bookkeeping = (n: number) => ({ type: 'SyncCompleted', actor: 'chainproof/sync', subsystem: 'sync', payload: { n } });
    await paged.service.append('main', [bookkeeping(0), bookkeeping(1), ...[2, 3, 4, 5].map((n) => ({ type: 'Paged', actor: 'writer', payload: { n } }))]);
    await paged.service.createCheckpoint('main');
    const starts = async () =>
      (await local.db.dataSource.query(`SELECT convert_from(canonical, 'UTF8') AS envelope FROM events WHERE type = 'SyncStarted' AND origin IS NULL ORDER BY idx`)).map(
        (r: { envelope: string }) => JSON.parse(r.envelope).payload,
      );
    const before = (await starts()).length;
    expect(await pullFrom(await pinned(paged), deps(clientOf(paged), 2))).toMatchObject({ fromPosition: 0, toPosition: 6, received: 6, substantive: true });
    const recorded = (await starts()).slice(before);
    expect(recorded).toEqual([expect.objectContaining({ origin: 'paged.test/main', fromPosition: 0, checkpointSize: 6 })]);
  });
});

describe('a pull whose checkpoint lost a race to another pull', () => {
  it('stops, keeping nothing, when the peer was re-pinned meanwhile rather than check it under a key it did not start with', async () => {
    const p = await pinned();
    // Another process stores its checkpoint and restarts with the peer pinned to another key, between this pull's check and its store.
    const racing = repinnedAtFirst('sawCheckpoint', p.url);
    await expect(pullFrom(p, { ...deps(clientOf(peer)), store: racing })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/changed during this sync/) });
    expect(await again(p.url)).toMatchObject({ position: 0, checkpointSize: null, eventsReceived: 0 });
  });
});

describe('a pull whose checkpoint loses every race', () => {
  /** A store on which other pulls always stored a newer checkpoint first; `onLoss(n)` runs before the n-th loss is told. */
  const losing = (onLoss: (n: number) => Promise<void> = async () => {}) => {
    const racing = Object.create(store) as SyncStore;
    let losses = 0;
    racing.sawCheckpoint = async () => {
      await onLoss(++losses);
      return false;
    };
    return { racing, losses: () => losses };
  };

  it('gives up after three attempts with CONFLICT, keeping nothing', async () => {
    const p = await pinned();
    const { racing, losses } = losing();
    await expect(pullFrom(p, { ...deps(clientOf(peer)), store: racing })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(/kept storing newer checkpoints/) });
    expect(losses()).toBe(3);
    expect(await again(p.url)).toMatchObject({ position: 0, eventsReceived: 0 });
  });

  it('stops as re-pinned, not failed, when the re-pin comes with the last loss', async () => {
    const p = await pinned();
    const { racing, losses } = losing(async (n) => {
      if (n === 3) await store.upsertConfigured(peerSpec(p.url, impostor.service.verifierKey()!));
    });
    await expect(pullFrom(p, { ...deps(clientOf(peer)), store: racing })).rejects.toBeInstanceOf(PeerRepinned);
    expect(losses()).toBe(3);
  });
});

describe('a pull of a peer', () => {
  it('whose ledger hashes otherwise is refused as a configuration this node cannot sync with', async () => {
    const b3 = await openTestLedger({ CHAINPROOF_ORIGIN: 'b3-peer.test', CHAINPROOF_SIGNING_SEED: '5a'.repeat(32), CHAINPROOF_HASH_ALG: 'blake3' }, { produceBlocks: false });
    leases.push(b3);
    await b3.service.append('main', [1, 2].map((n) => ({ type: 'Blake3', actor: 'writer', payload: { n } })));
    await b3.service.createCheckpoint('main');
    await expect(pullFrom(await pinned(b3), deps(clientOf(b3)))).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/hashes with blake3/) });
    expect(await countOf('Blake3')).toBe(0);
  });

  it('whose single leaf is over the answer bound gives up on it rather than ask again', async () => {
    let asked = 0;
    const tooLarge = clientOf(peer, {
      leaves: async () => {
        if (++asked > 10) throw new Error('asked for the same leaf again and again');
        throw new AnswerTooLarge('answer exceeds the bound');
      },
    });
    await expect(pullFrom(await pinned(), deps(tooLarge))).rejects.toBeInstanceOf(AnswerTooLarge);
    expect(asked).toBeLessThanOrEqual(8);
  });
});

describe('the latency a pull stores for a peer', () => {
  it('is the round trip of the checkpoint request, not the wait for the rate bound before it', async () => {
    const p = await pinned();
    // Every request waits 300 ms for the rate bound; the peer itself answers at once.
    const paced = { ...deps(clientOf(peer)), pace: () => new Promise<void>((r) => setTimeout(r, 300)) };
    await pullFrom(p, paced);
    const { latencyMs } = await again(p.url);
    expect(latencyMs).not.toBeNull();
    expect(latencyMs!).toBeLessThan(250);
  });
});
