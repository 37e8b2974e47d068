import { ChainproofError } from '../../errors.js';
import type { TreeHasher } from '../merkle/index.js';
import { publicKeyFromDidKey } from './did-key.js';
import { ed25519Verify } from './ed25519.js';
import { canonicalBytes, canonicalPayload, checkEnvelopeFields, isStorableText, MAX_ORIGIN_LENGTH, MAX_PAYLOAD_DEPTH, nestsDeeperThan, parseCanonical, type Envelope } from './envelope.js';
import type { AppendInput } from './event.js';

export interface AppendLimits {
  maxPayloadBytes: number;
  hlcMaxSkewMs: number;
  /** The server's DIDs, its current key's and its previous keys', which no unsigned client event may claim as author. */
  serverDids?: readonly string[];
}

/**
 * An input checked for everything that needs no database: field shapes, payload size,
 * clock skew and — for a signed event, whose envelope is fixed by its signature — the
 * signature itself. What remains (parents exist, idempotency) is checked under the lock.
 */
export interface PreparedInput {
  input: AppendInput;
  /** Rough size in bytes, so one transaction does not swallow an unbounded amount of data. */
  bytes: number;
  /** The payload's RFC 8785 text, computed once for the size check and reused for the envelope. */
  payloadText?: string;
  /**
   * Present when the bytes are fixed before the append: a client-signed event (the bytes the
   * author signed), or a copy synced from another node (whose signature is optional).
   */
  signed?: { envelope: Envelope; canonical: Buffer; id: Buffer; signature: Buffer | null };
  /** Set for a synced copy: the origin its envelope names, another node's. */
  foreignOrigin?: string;
  /** A synced copy naming this ledger's own origin: valid only if the ledger holds it already. */
  ownCopy?: boolean;
  /**
   * A refusal that stands only if the input is not a retry of an event already written: a retry
   * carries that event's hlc, however long ago it was stamped.
   */
  unlessRetry?: ChainproofError;
}

const HEX_SIGNATURE = /^[0-9a-f]{128}$/;

/** `input` is attacker-controlled. */
export function prepareInput(
  input: AppendInput,
  origin: string,
  hasher: TreeHasher,
  limits: AppendLimits,
  now = Date.now(),
): PreparedInput {
  checkEnvelopeFields(input);
  const payloadText = input.payload === undefined ? undefined : canonicalPayload(input.payload);
  const size = payloadText === undefined ? 0 : Buffer.byteLength(payloadText, 'utf8');
  if (size > limits.maxPayloadBytes) {
    throw new ChainproofError('PAYLOAD_TOO_LARGE', `payload is ${size} bytes; the limit is ${limits.maxPayloadBytes}`);
  }
  const bytes = size + 1024;
  if (input.idempotencyKey !== undefined && (input.idempotencyKey.length === 0 || input.idempotencyKey.length > 256 || !isStorableText(input.idempotencyKey))) {
    throw new ChainproofError('BAD_USER_INPUT', 'idempotencyKey must be 1..256 characters of well-formed Unicode without NUL');
  }
  let unlessRetry: ChainproofError | undefined;
  if (input.hlc && Math.abs(input.hlc.physicalMs - now) > limits.hlcMaxSkewMs) {
    unlessRetry = new ChainproofError(
      'HLC_OUT_OF_SKEW',
      `hlc.physicalMs is ${input.hlc.physicalMs - now} ms from the server clock; at most ${limits.hlcMaxSkewMs} ms allowed`,
    );
    // Only an input that names one event (by key, signature, or parents and hlc) can be a retry.
    if (input.idempotencyKey === undefined && input.signature === undefined && input.parents === undefined) throw unlessRetry;
  }
  if (input.signature === undefined) {
    if (input.author !== undefined && limits.serverDids?.includes(input.author)) {
      throw new ChainproofError('BAD_USER_INPUT', 'only the server writes unsigned events in its own name');
    }
    return { input, bytes, payloadText, unlessRetry };
  }

  if (!HEX_SIGNATURE.test(input.signature)) {
    throw new ChainproofError('BAD_USER_INPUT', 'signature must be 128 lowercase hex characters (Ed25519)');
  }
  if (!input.author) throw new ChainproofError('BAD_USER_INPUT', 'a signed event needs its author (a did:key)');
  if (!input.parents || !input.hlc) {
    throw new ChainproofError(
      'BAD_USER_INPUT',
      'a signed event must carry its own parents (possibly empty) and hlc: the server never changes signed bytes',
    );
  }
  const publicKey = publicKeyFromDidKey(input.author);
  const envelope = envelopeOf(input, origin, input.parents, input.hlc);
  const canonical = canonicalBytes(envelope, payloadText);
  const signature = Buffer.from(input.signature, 'hex');
  if (!ed25519Verify(publicKey, canonical, signature)) {
    throw new ChainproofError('BAD_SIGNATURE', `signature does not verify for author ${input.author}`);
  }
  return { input, bytes, payloadText, signed: { envelope, canonical, id: hasher.leafHash(canonical), signature }, unlessRetry };
}

/**
 * A copy of an event first written on another node, taken byte for byte so its id is the same
 * everywhere. `canonical` and `signature` are attacker-controlled (whatever a peer sent): the
 * bytes must be an exact canonical envelope within our size limits, a signature must verify for
 * its did:key author, and a copy naming our own origin must be one of ours (the sequencer checks).
 * Its HLC may be anywhere in the past, but no further ahead of this server's clock than a
 * client's may be: the ledger's clock never goes back, so one copy stamped in the far future
 * would drag every later event there (and one at the largest HLC left no next one to stamp).
 */
export function prepareReplicated(
  canonical: Buffer,
  signature: Buffer | null,
  localOrigin: string,
  hasher: TreeHasher,
  limits: Pick<AppendLimits, 'maxPayloadBytes' | 'hlcMaxSkewMs'>,
  now = Date.now(),
): PreparedInput {
  let envelope: Envelope;
  try {
    envelope = parseCanonical(canonical);
  } catch (cause) {
    throw new ChainproofError('BAD_EVENT', `not a canonical event envelope: ${(cause as Error).message}`, { cause });
  }
  // The origin is stored as text (the copy's `origin` column): a NUL there would fail the insert, not this check.
  if (envelope.ledger.length === 0 || envelope.ledger.length > MAX_ORIGIN_LENGTH || !isStorableText(envelope.ledger)) {
    throw new ChainproofError('BAD_EVENT', `the copy's ledger (origin) must be 1..${MAX_ORIGIN_LENGTH} characters of text`);
  }
  // As deep as a payload written here may be, so that everything that reads payloads back reads this one too.
  if (nestsDeeperThan(envelope.payload, MAX_PAYLOAD_DEPTH)) {
    throw new ChainproofError('BAD_EVENT', `the copy's payload nests deeper than ${MAX_PAYLOAD_DEPTH} levels`);
  }
  if (canonical.length > limits.maxPayloadBytes + 4096) {
    throw new ChainproofError('PAYLOAD_TOO_LARGE', `event is ${canonical.length} bytes; this node takes payloads up to ${limits.maxPayloadBytes}`);
  }
  if (envelope.hlc.physicalMs - now > limits.hlcMaxSkewMs) {
    throw new ChainproofError(
      'HLC_OUT_OF_SKEW',
      `the copy's hlc.physicalMs is ${envelope.hlc.physicalMs - now} ms ahead of this server's clock; at most ${limits.hlcMaxSkewMs} ms allowed`,
    );
  }
  if (signature !== null) {
    if (signature.length !== 64) throw new ChainproofError('BAD_SIGNATURE', 'signature must be 64 bytes (Ed25519)');
    if (!envelope.author) throw new ChainproofError('BAD_SIGNATURE', 'a signed event needs its author');
    let key: Buffer;
    try {
      key = publicKeyFromDidKey(envelope.author);
    } catch (cause) {
      throw new ChainproofError('BAD_SIGNATURE', `cannot check the signature of author ${envelope.author}`, { cause });
    }
    if (!ed25519Verify(key, canonical, signature)) {
      throw new ChainproofError('BAD_SIGNATURE', `signature does not verify for author ${envelope.author}`);
    }
  }
  const { ledger: _origin, ...fields } = envelope;
  const input: AppendInput = { ...fields };
  return {
    input,
    bytes: canonical.length + 1024,
    signed: { envelope, canonical, id: hasher.leafHash(canonical), signature },
    // A copy of one of our own events comes back from every peer: it must be one we hold already.
    ...(envelope.ledger === localOrigin ? { ownCopy: true } : { foreignOrigin: envelope.ledger }),
  };
}

export function envelopeOf(input: AppendInput, origin: string, parents: string[], hlc: Envelope['hlc']): Envelope {
  const e: Envelope = { ledger: origin, type: input.type, actor: input.actor, parents, hlc };
  if (input.author !== undefined) e.author = input.author;
  if (input.resource !== undefined) e.resource = input.resource;
  if (input.subsystem !== undefined) e.subsystem = input.subsystem;
  if (input.payload !== undefined) e.payload = input.payload;
  if (input.result !== undefined) e.result = input.result;
  if (input.correlationId !== undefined) e.correlationId = input.correlationId;
  return e;
}
