import type { BlockRow, CheckpointRow } from '../ledger/entities/index.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { encodeCursor, type Page } from '../ledger/pagination.js';
import type { AuditEvent } from '../schema/event.type.js';
import type { Block } from '../schema/block.type.js';
import { Checkpoint } from '../schema/checkpoint.type.js';

/**
 * `blockHeight` is left to its field resolver, which asks only when a client selects it, unless
 * a read of a past state (`asOf`) sets it: the block holding the event then, if any.
 */
export type AuditEventSource = Omit<AuditEvent, 'blockHeight'> & { blockHeight?: number | null };

export const toAuditEvent = (e: LedgerEvent): AuditEventSource => ({
  ...e,
  cursor: encodeCursor('event', e.index, e.ledger),
  canonical: e.canonical.toString('base64'),
  hlc: { ...e.hlc },
});

/** `ledger`: the block's ledger, whose mark its cursor carries. */
export const toBlock = (b: BlockRow, ledger: string): Block => ({
  height: b.height,
  cursor: encodeCursor('block', b.height, ledger),
  hash: b.hash.toString('hex'),
  previousHash: b.previousHash.toString('hex'),
  eventsRoot: b.eventsRoot.toString('hex'),
  startIndex: b.startIndex,
  treeSize: b.treeSize,
  treeRoot: b.treeRoot.toString('hex'),
  timestamp: b.timestampMs,
  difficulty: b.difficulty,
  nonce: b.nonce,
  miningMs: b.miningMs,
  eventCount: b.treeSize - b.startIndex,
});

/**
 * An instance, not a plain object: type-graphql hands every field resolver its own copy of a
 * plain root, and the cosignature fields share one read per root object.
 */
export const toCheckpoint = (c: CheckpointRow, ledger: string): Checkpoint => Object.assign(new Checkpoint(), {
  id: c.id,
  cursor: encodeCursor('checkpoint', c.id, ledger),
  treeSize: c.treeSize,
  rootHash: c.rootHash.toString('hex'),
  blockHeight: c.blockHeight,
  timestamp: c.timestampMs,
  name: c.name,
  tags: c.tags,
  note: c.note,
} satisfies Checkpoint);

export function toConnection<T, U>(page: Page<T>, map: (t: T) => U) {
  return {
    edges: page.items.map((i) => ({ cursor: i.cursor, node: map(i.node) })),
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: page.items[0]?.cursor ?? null,
      endCursor: page.items.at(-1)?.cursor ?? null,
    },
  };
}
