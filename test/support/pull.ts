import type { LedgerService } from '../../src/ledger/ledger-service.js';
import { SYNC_ACTOR, SYNC_SUBSYSTEM } from '../../src/sync/events.js';
import type { PeerClient } from '../../src/sync/peer-client.js';
import type { PullDeps } from '../../src/sync/pull.js';
import type { SyncStore } from '../../src/sync/sync-store.js';
import type { TestLedger } from './ledger.js';

/**
 * A peer answering from `peer`'s ledger `ledger` in process, as its GraphQL API would; `over`
 * replaces what a lying peer sends instead.
 */
export function clientOf(
  peer: TestLedger,
  over: Partial<Record<'checkpoint' | 'consistency' | 'leaves', (...a: any[]) => Promise<unknown>>> = {},
  ledger = 'main',
): PeerClient {
  return {
    checkpoint: async () => (await peer.service.syncCheckpoint(ledger))?.note ?? null,
    consistency: async (from: number, to: number) => (await peer.service.consistencyProof(ledger, from, to)).hashes.map((h) => Buffer.from(h, 'hex')),
    leaves: async (start: number, end: number, size: number) => {
      const r = await peer.service.leafRange(ledger, start, end, size);
      return { leaves: r.leaves, proof: r.proof };
    },
    ...over,
  } as unknown as PeerClient;
}

/** What pullFrom needs to pull through `client` into `ledger`, unpaced. */
export const pullDeps = (ledger: LedgerService, store: SyncStore, client: PeerClient, pageSize = 100): PullDeps => ({
  ledger,
  store,
  client,
  pageSize,
  pace: async () => {},
  syncStarted: (_p, payload) => ({ type: 'SyncStarted', actor: SYNC_ACTOR, subsystem: SYNC_SUBSYSTEM, payload }),
});
