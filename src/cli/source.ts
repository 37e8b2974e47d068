import { ChainproofError } from '../errors.js';
import type { CheckpointRow } from '../ledger/entities/index.js';
import type { EventFilter, LedgerService } from '../ledger/ledger-service.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import { EXIT, exitCodeFor } from './exit.js';
import { graphqlClient } from './graphql-client.js';
import type { ServerAddress } from './server-options.js';
import { orNull, type Shape } from './shape.js';

/** An event as the CLI prints and exports it: the same fields GraphQL serves. */
export interface EventRecord {
  index: number;
  id: string;
  type: string;
  actor: string;
  author: string | null;
  resource: string | null;
  subsystem: string | null;
  result: string | null;
  correlationId: string | null;
  payload?: unknown;
  parents: string[];
  hlc: { physicalMs: number; logical: number };
  signature: string | null;
  canonical: string;
}

export interface EventPage {
  events: EventRecord[];
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface ProofBundle {
  index: number;
  hashes: string[];
  canonical: string;
  note: string;
}

/**
 * Where CLI commands read from: the database directly (DATABASE_URL / data dir) or a running
 * server over GraphQL (`--url`, `--key`). The commands do not care which.
 */
export interface LedgerSource {
  events(ledger: string, filter: EventFilter, first: number, after: string | null): Promise<EventPage>;
  stats(ledger: string): Promise<{ treeSize: number; blocks: number; eventsByType: Array<{ type: string; count: number }> }>;
  proof(ledger: string, eventId: string): Promise<ProofBundle>;
  checkpoint(ledger: string, name: string | undefined, tags: string[]): Promise<{ treeSize: number; rootHash: string; blockHeight: number; note: string }>;
  verify(ledger: string, full: boolean): Promise<{ status: string; eventsVerified: number; signaturesChecked: boolean; issues: Array<{ kind: string; index?: number | null; blockHeight?: number | null; message: string }> }>;
}

export function toRecord(e: LedgerEvent): EventRecord {
  return {
    index: e.index,
    id: e.id,
    type: e.type,
    actor: e.actor,
    author: e.author,
    resource: e.resource,
    subsystem: e.subsystem,
    result: e.result,
    correlationId: e.correlationId,
    payload: e.payload,
    parents: e.parents,
    hlc: e.hlc,
    signature: e.signature,
    canonical: e.canonical.toString('base64'),
  };
}

/**
 * The ledger in this process. `noteOf` gives a checkpoint's note as a server serves it, with the
 * cosignature lines its validators added (see localSource), so a proof carries them too.
 */
export function directSource(ledger: LedgerService, noteOf: (c: CheckpointRow) => Promise<string>): LedgerSource {
  return {
    async checkpoint(name, cpName, tags) {
      const c = await ledger.createCheckpoint(name, cpName, tags);
      return { treeSize: c.treeSize, rootHash: c.rootHash.toString('hex'), blockHeight: c.blockHeight, note: c.note };
    },
    verify: (name, full) => ledger.verify(name, full),
    async events(name, filter, first, after) {
      const page = await ledger.events(name, filter, { first, after: after ?? undefined });
      return {
        events: page.items.map((i) => toRecord(i.node)),
        endCursor: page.items.at(-1)?.cursor ?? null,
        hasNextPage: page.hasNextPage,
      };
    },
    stats: (name) => ledger.stats(name),
    async proof(name, eventId) {
      const event = await ledger.event(name, eventId);
      if (!event) throw new ChainproofError('NOT_FOUND', `no event ${eventId} in ledger ${name}`);
      let checkpoint = await ledger.checkpoint(name);
      if (!checkpoint || checkpoint.treeSize <= event.index) checkpoint = await ledger.createCheckpoint(name, undefined, ['proof']);
      const p = await ledger.inclusionProof(name, { index: event.index }, checkpoint.treeSize);
      return { index: event.index, hashes: p.hashes, canonical: event.canonical.toString('base64'), note: await noteOf(checkpoint) };
    },
  };
}

const EVENT_FIELDS = 'index id type actor author resource subsystem result correlationId payload parents hlc { physicalMs logical } signature canonical';

const EVENT: Shape = {
  index: 'number', id: 'string', type: 'string', actor: 'string', author: orNull('string'), resource: orNull('string'),
  subsystem: orNull('string'), result: orNull('string'), correlationId: orNull('string'), payload: 'any', parents: ['string'],
  hlc: { physicalMs: 'number', logical: 'number' }, signature: orNull('string'), canonical: 'string',
};
const CHECKPOINT: Shape = { treeSize: 'number', rootHash: 'string', blockHeight: 'number', note: 'string' };
const REPORT: Shape = {
  status: 'string', eventsVerified: 'number', signaturesChecked: 'boolean',
  issues: [{ kind: 'string', index: orNull('number'), blockHeight: orNull('number'), message: 'string' }],
};
const PAGE: Shape = { edges: [{ node: EVENT }], pageInfo: { endCursor: orNull('string'), hasNextPage: 'boolean' } };
const STATS: Shape = { treeSize: 'number', blocks: 'number', eventsByType: [{ type: 'string', count: 'number' }] };
const PROOF: Shape = { hashes: ['string'], checkpoint: orNull({ note: 'string' }) };

export function remoteSource(server: ServerAddress): LedgerSource {
  const call = graphqlClient(server);
  return {
    async checkpoint(ledger, name, tags) {
      const d = await call<{ createCheckpoint: { treeSize: number; rootHash: string; blockHeight: number; note: string } }>(
        `mutation($l: String!, $n: String, $t: [String!]) { createCheckpoint(ledger: $l, name: $n, tags: $t) { treeSize rootHash blockHeight note } }`,
        { l: ledger, n: name, t: tags },
        { createCheckpoint: CHECKPOINT },
      );
      return d.createCheckpoint;
    },
    async verify(ledger, full) {
      const d = await call<{ verify: Awaited<ReturnType<LedgerSource['verify']>> }>(
        `query($l: String!, $f: Boolean!) { verify(ledger: $l, full: $f) { status eventsVerified signaturesChecked issues { kind index blockHeight message } } }`,
        { l: ledger, f: full },
        { verify: REPORT },
      );
      return d.verify;
    },
    async events(ledger, f, first, after) {
      const filter = {
        types: f.types, actor: f.actor, author: f.author, subsystem: f.subsystem, resource: f.resource, result: f.result,
        correlationId: f.correlationId,
        from: f.fromMs === undefined ? undefined : new Date(f.fromMs).toISOString(),
        to: f.toMs === undefined ? undefined : new Date(f.toMs).toISOString(),
      };
      const d = await call<{ events: { edges: Array<{ node: EventRecord }>; pageInfo: { endCursor: string | null; hasNextPage: boolean } } }>(
        `query($l: String!, $f: EventFilter, $n: Int, $a: String) { events(ledger: $l, filter: $f, first: $n, after: $a) {
           edges { node { ${EVENT_FIELDS} } } pageInfo { endCursor hasNextPage } } }`,
        { l: ledger, f: filter, n: first, a: after },
        { events: PAGE },
      );
      return { events: d.events.edges.map((e) => e.node), ...d.events.pageInfo };
    },
    async stats(ledger) {
      const d = await call<{ stats: { treeSize: number; blocks: number; eventsByType: Array<{ type: string; count: number }> } }>(
        `query($l: String!) { stats(ledger: $l) { treeSize blocks eventsByType { type count } } }`,
        { l: ledger },
        { stats: STATS },
      );
      return d.stats;
    },
    async proof(ledger, eventId) {
      type Proof = { hashes: string[]; checkpoint: { note: string } | null };
      const d = await call<{ event: { index: number; canonical: string } | null; inclusionProof: Proof }>(
        `query($l: String!, $id: String!) { event(ledger: $l, id: $id) { index canonical }
           inclusionProof(ledger: $l, eventId: $id) { hashes checkpoint { note } } }`,
        { l: ledger, id: eventId },
        { event: orNull({ index: 'number', canonical: 'string' }), inclusionProof: PROOF },
      );
      if (!d.event) throw new ChainproofError('NOT_FOUND', `no event ${eventId} in ledger ${ledger}`);
      let proof = d.inclusionProof;
      if (!proof.checkpoint) {
        // As in direct mode: no checkpoint covers the event yet, so make one (a writer's key needed).
        const made = await call<{ createCheckpoint: { treeSize: number } }>(
          `mutation($l: String!) { createCheckpoint(ledger: $l, tags: ["proof"]) { treeSize } }`,
          { l: ledger },
          { createCheckpoint: { treeSize: 'number' } },
        ).catch((cause: ChainproofError) => {
          // Only a refusal means "no writer's key": the server down, overloaded or failing is said as it is.
          if (exitCodeFor(cause) !== EXIT.USAGE) throw cause;
          throw new ChainproofError('NOTHING_TO_CHECKPOINT', `no checkpoint covers this event yet, and making one failed (${cause.code}): run \`chainproof checkpoint\` or give a writer's --key`, { cause });
        });
        proof = (await call<{ inclusionProof: Proof }>(
          `query($l: String!, $id: String!, $n: SafeInt!) { inclusionProof(ledger: $l, eventId: $id, treeSize: $n) { hashes checkpoint { note } } }`,
          { l: ledger, id: eventId, n: made.createCheckpoint.treeSize },
          { inclusionProof: { hashes: ['string'], checkpoint: { note: 'string' } } },
        )).inclusionProof;
      }
      return { index: d.event.index, hashes: proof.hashes, canonical: d.event.canonical, note: proof.checkpoint!.note };
    },
  };
}
