import { randomBytes } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { DataSource } from 'typeorm';
import { expect } from 'vitest';
import type { LedgerParams } from '../../src/ledger/ledgers.js';
import type { LedgerRow } from '../../src/ledger/entities/index.js';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import { canonicalBytes, type Envelope } from '../../src/ledger/events/envelope.js';
import type { AppendInput, LedgerEvent } from '../../src/ledger/events/event.js';
import { envelopeOf } from '../../src/ledger/events/prepare.js';
import type { LedgerService } from '../../src/ledger/ledger-service.js';
import { treeHasher } from '../../src/ledger/merkle/index.js';
import type { IssueKind, VerificationReport } from '../../src/ledger/verify/index.js';

/** A did:key author that signs its own events. */
export const author = (() => {
  const key = ed25519FromSeed(Buffer.alloc(32, 7));
  return { key, did: didKeyFromPublicKey(key.publicKey) };
})();

export interface BuiltLedger {
  ledger: LedgerRow;
  events: LedgerEvent[];
  /** Indexes of events signed by `author`. */
  signed: number[];
  /** Indexes of unsigned events with explicit parents. */
  explicit: number[];
  /** Indexes of unsigned events whose only parent is the event before (a plain hash chain link). */
  chained: number[];
}

/**
 * ~100 events: a plain hash chain, events signed by a did:key author (their own parents and
 * hlc, one with no parents at all), events with explicit parents (several branches), payloads
 * that take the canonical slow path (\u escapes, integer-like keys); sealed into several
 * mined blocks with at least two explicit checkpoints (more are made every 16 events).
 */
export async function buildLedger(service: LedgerService, name: string, params: Partial<LedgerParams> = {}): Promise<BuiltLedger> {
  const ledger = await service.createLedger(name, params);
  const events: LedgerEvent[] = [];
  const signed: number[] = [];
  const explicit: number[] = [];
  const add = async (inputs: AppendInput[]) => {
    const out = await service.append(name, inputs);
    events.push(...out);
    return out;
  };
  const plain = (n: number, from: number): AppendInput[] =>
    Array.from({ length: n }, (_, i) => ({
      type: i % 3 === 0 ? 'TokensMinted' : 'ThingHappened',
      actor: `user:${(from + i) % 7}`,
      resource: i % 2 === 0 ? `doc/${from + i}` : undefined,
      subsystem: i % 4 === 0 ? 'tests' : undefined,
      result: i % 5 === 0 ? 'ok' : undefined,
      correlationId: i % 6 === 0 ? `corr-${from}` : undefined,
      payload: { n: from + i, nested: { z: [1, 2.5, -3, true, null], a: 'héllo ✓' }, big: 1e21 },
    }));
  const signedOne = async (parents: string[], payload: unknown) => {
    const last = events[events.length - 1]!;
    const hlc = { physicalMs: Math.max(Date.now(), last.hlc.physicalMs + 1), logical: 0 };
    const input: AppendInput = { type: 'SignedThing', actor: 'user:signer', author: author.did, payload, parents, hlc };
    const envelope = envelopeOf(input, ledger.origin, parents, hlc);
    input.signature = author.key.sign(canonicalBytes(envelope)).toString('hex');
    const [e] = await add([input]);
    signed.push(e!.index);
  };
  const explicitOne = async (parents: number[]) => {
    const [e] = await add([{ type: 'Linked', actor: 'user:linker', parents: parents.map((i) => events[i]!.id), payload: { links: parents } }]);
    explicit.push(e!.index);
  };

  for (let b = 0; b < 3; b++) await add(plain(10, events.length));
  for (let i = 0; i < 3; i++) await signedOne([events[events.length - 1]!.id], { signed: i });
  await add([{ type: 'Odd', actor: 'user:odd', payload: { '10': 'ten', '9': 'nine', ctl: 'tab\there', quote: '"\\' } }]);
  await explicitOne([3, 10]);
  await explicitOne([events.length - 2]);
  await service.createCheckpoint(name, 'first');
  await add(plain(10, events.length));
  await signedOne([], { root: true });
  await signedOne([events[events.length - 1]!.id, events[5]!.id], { merge: true });
  await explicitOne([0]);
  for (let b = 0; b < 3; b++) await add(plain(12, events.length));
  await service.createCheckpoint(name, 'second');
  await add(plain(10, events.length));
  await signedOne([events[events.length - 1]!.id], { last: true });
  await add(plain(5, events.length));
  await explicitOne([0]); // a second branch, still open at the end
  await service.createCheckpoint(name, 'third');

  const chained = events
    .filter((e) => e.index > 0 && e.signature === null && e.parents.length === 1 && e.parents[0] === events[e.index - 1]!.id)
    .map((e) => e.index);
  return { ledger, events, signed, explicit, chained };
}

type Statement = string | [string, unknown[]];

/** Changes the database behind the ledger's back: the append-only triggers are off for this transaction only. */
export async function tamper(ds: DataSource, ...statements: Statement[]): Promise<void> {
  const qr = ds.createQueryRunner();
  await qr.connect();
  await qr.startTransaction();
  try {
    await qr.query('SET LOCAL session_replication_role = replica');
    for (const s of statements) {
      if (typeof s === 'string') await qr.query(s);
      else await qr.query(s[0], s[1]);
    }
    await qr.commitTransaction();
  } catch (e) {
    await qr.rollbackTransaction();
    throw e;
  } finally {
    await qr.release();
  }
}

export const randomHash = (): Buffer => randomBytes(32);

/** An event row rewritten from a changed envelope: canonical bytes, columns, and (optionally) a matching id. */
export function forgedEventColumns(origin: string, env: Envelope, alg: 'sha256' | 'blake3' = 'sha256') {
  const canonical = Buffer.from(canonicalize(env)!, 'utf8');
  return {
    canonical,
    id: treeHasher(alg).leafHash(canonical),
    parents: Buffer.from(env.parents.join(''), 'hex'),
    hlcMs: env.hlc.physicalMs,
    hlcLogical: env.hlc.logical,
    origin,
  };
}

export function envelopeOfEvent(e: LedgerEvent): Envelope {
  return JSON.parse(e.canonical.toString('utf8')) as Envelope;
}

/** The report is INVALID and has an issue of `kind` naming exactly `where`. */
export function expectIssue(
  report: VerificationReport,
  kind: IssueKind,
  where: { index?: number; blockHeight?: number; checkpointId?: number },
): void {
  expect(report.status).toBe('INVALID');
  const match = report.issues.find(
    (i) =>
      i.kind === kind &&
      (where.index === undefined || i.index === where.index) &&
      (where.blockHeight === undefined || i.blockHeight === where.blockHeight) &&
      (where.checkpointId === undefined || i.checkpointId === where.checkpointId),
  );
  expect(match, `expected ${kind} at ${JSON.stringify(where)} among ${JSON.stringify(report.issues, null, 1)}`).toBeDefined();
}

export function expectValid(report: VerificationReport): void {
  expect(report.issues, JSON.stringify(report.issues, null, 1)).toEqual([]);
  expect(report.status).toBe('VALID');
}
