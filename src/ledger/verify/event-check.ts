import type { LedgerRow } from '../entities/index.js';
import { publicKeyFromDidKey } from '../events/did-key.js';
import { ed25519Verify } from '../events/ed25519.js';
import type { Envelope } from '../events/envelope.js';
import type { TreeHasher } from '../merkle/index.js';
import { parseCanonicalFast } from './canonical.js';
import type { IssueCollector } from './issues.js';
import type { RawEventRow } from '../sequencer.js';

/** The event columns verification reads (EVENT_COLUMNS minus what it does not check). */
export const VERIFY_EVENT_COLUMNS =
  'idx, id, canonical, signature, type, actor, author, resource, subsystem, result, correlation_id, parents, hlc_ms, hlc_logical, origin';

/** An event row as verification reads it (VERIFY_EVENT_COLUMNS). */
export type VerifyEventRow = Omit<RawEventRow, 'idempotency_key' | 'appended_at'>;

/** What parent checks need from one event, taken from its signed envelope when it parses. */
export interface CheckedEvent {
  /** The id other events name it by: the stored id (32 bytes; the leaf hash if the stored one is malformed). */
  id: Buffer;
  /** Concatenated 32-byte parent ids. */
  parents: Buffer;
  hlcMs: number;
  hlcLogical: number;
}

const TEXT_FIELDS = [
  ['type', 'type'],
  ['actor', 'actor'],
  ['author', 'author'],
  ['resource', 'resource'],
  ['subsystem', 'subsystem'],
  ['result', 'result'],
  ['correlation_id', 'correlationId'],
] as const;

/**
 * Checks one stored event on its own: its bytes are a canonical envelope of this ledger,
 * hash to its id, agree with every indexed column, and carry a valid signature if any.
 */
export class EventChecker {
  private readonly authorKeys = new Map<string, Buffer | Error>();

  constructor(
    private readonly ledger: Pick<LedgerRow, 'origin'>,
    private readonly hasher: TreeHasher,
    private readonly issues: IssueCollector,
    /** The did:keys of the trusted signing keys: the server signs every event it writes in the name of its key of the time. */
    private readonly serverDids: readonly string[] = [],
  ) {}

  check(row: VerifyEventRow, index: number): CheckedEvent {
    const issues = this.issues;
    const leaf = this.hasher.leafHash(row.canonical);
    let id = row.id;
    if (!leaf.equals(row.id)) {
      issues.event('EVENT_HASH_MISMATCH', index, `event ${index}: stored id ${row.id.toString('hex')} is not the leaf hash of its canonical bytes (${leaf.toString('hex')})`);
      if (id.length !== 32) id = leaf;
    }

    let env: Envelope | undefined;
    try {
      env = parseCanonicalFast(row.canonical);
    } catch (e) {
      issues.event('EVENT_MALFORMED', index, `event ${index}: canonical bytes are not a canonical envelope: ${(e as Error).message}`);
    }
    const origin = row.origin ?? this.ledger.origin;
    if (env && env.ledger !== origin) {
      const whose = row.origin === null ? "this ledger's origin" : 'the origin it was synced from';
      issues.event('EVENT_MALFORMED', index, `event ${index}: envelope names ledger ${JSON.stringify(env.ledger)}, not ${whose} ${JSON.stringify(origin)}`);
    }

    let parents = row.parents;
    let hlcMs = Number(row.hlc_ms);
    let hlcLogical = row.hlc_logical;
    if (env) {
      const bad: string[] = [];
      for (const [column, field] of TEXT_FIELDS) {
        const stored = row[column];
        const signed = env[field] ?? null;
        if (stored !== signed) bad.push(`${column} is ${JSON.stringify(stored)} but the envelope has ${JSON.stringify(signed)}`);
      }
      if (!parentsEqual(row.parents, env.parents)) {
        bad.push(`parents are [${splitHex(row.parents).join(', ')}] but the envelope has [${env.parents.join(', ')}]`);
        parents = Buffer.from(env.parents.join(''), 'hex');
      }
      if (String(env.hlc.physicalMs) !== row.hlc_ms) bad.push(`hlc_ms is ${row.hlc_ms} but the envelope has ${env.hlc.physicalMs}`);
      if (env.hlc.logical !== row.hlc_logical) bad.push(`hlc_logical is ${row.hlc_logical} but the envelope has ${env.hlc.logical}`);
      if (bad.length > 0) issues.event('EVENT_FIELD_MISMATCH', index, `event ${index}: ${bad.join('; ')}`);
      hlcMs = env.hlc.physicalMs;
      hlcLogical = env.hlc.logical;
    } else if (parents.length % 32 !== 0) {
      parents = parents.subarray(0, parents.length - (parents.length % 32));
    }

    const author = env ? env.author : (row.author ?? undefined);
    if (row.signature !== null) this.checkSignature(author, row.canonical, row.signature, index);
    else this.checkUnsigned(author, env ? env.ledger : (row.origin ?? this.ledger.origin), index);
    return { id, parents, hlcMs, hlcLogical };
  }

  /**
   * An unsigned event first written here (its envelope names this ledger, not a peer's, whose
   * clients may name anyone) may not name the server as its author. The server signs all it
   * writes in its own name and refuses unsigned appends in that name, so one without a signature
   * had it stripped: with it gone, rewriting the event would leave no signature to fail.
   */
  checkUnsigned(author: string | undefined, envelopeLedger: string, index: number): void {
    if (author !== undefined && this.serverDids.includes(author) && envelopeLedger === this.ledger.origin) {
      this.issues.event('EVENT_SIGNATURE', index, `event ${index} names the server (${author}) as its author but carries no signature`);
    }
  }

  /** A signed event's signature verifies over its canonical bytes for its did:key author. */
  checkSignature(author: string | undefined, canonical: Uint8Array, signature: Uint8Array, index: number): void {
    if (author === undefined) {
      this.issues.event('EVENT_SIGNATURE', index, `event ${index} is signed but names no author`);
      return;
    }
    const key = this.authorKey(author);
    if (key instanceof Error) {
      this.issues.event('EVENT_SIGNATURE', index, `event ${index}: cannot check the signature: ${key.message}`);
    } else if (!ed25519Verify(key, canonical, signature)) {
      this.issues.event('EVENT_SIGNATURE', index, `event ${index}: signature does not verify for author ${author}`);
    }
  }

  private authorKey(author: string): Buffer | Error {
    let key = this.authorKeys.get(author);
    if (key === undefined) {
      try {
        key = publicKeyFromDidKey(author);
      } catch (e) {
        key = e as Error;
      }
      if (this.authorKeys.size >= 10_000) this.authorKeys.clear();
      this.authorKeys.set(author, key);
    }
    return key;
  }
}

function parentsEqual(stored: Buffer, signed: string[]): boolean {
  if (stored.length !== signed.length * 32) return false;
  for (let i = 0; i < signed.length; i++) if (stored.toString('hex', i * 32, i * 32 + 32) !== signed[i]) return false;
  return true;
}

function splitHex(b: Buffer): string[] {
  const out: string[] = [];
  for (let i = 0; i < b.length; i += 32) out.push(b.toString('hex', i, Math.min(b.length, i + 32)));
  return out;
}
