import { isUtf8 } from 'node:buffer';
import canonicalize from 'canonicalize';
import { ChainproofError } from '../../errors.js';
import { isWellFormed, rfc8785 } from './rfc8785.js';

export interface Hlc {
  physicalMs: number;
  logical: number;
}

/**
 * What is hashed and signed (DESIGN §2). `ledger` is the ledger's origin, so an event
 * names where it was first written and keeps its id when copied elsewhere.
 * Absent optional fields are omitted, never null.
 */
export interface Envelope {
  ledger: string;
  type: string;
  actor: string;
  author?: string;
  resource?: string;
  subsystem?: string;
  payload?: unknown;
  result?: string;
  correlationId?: string;
  parents: string[];
  hlc: Hlc;
}

const OPTIONAL_TEXT = ['author', 'resource', 'subsystem', 'result', 'correlationId'] as const;
const ENVELOPE_KEYS = new Set(['ledger', 'type', 'actor', 'payload', 'parents', 'hlc', ...OPTIONAL_TEXT]);
export const MAX_TEXT_FIELD = 512;
export const MAX_PARENTS = 64;
export const MAX_HLC_LOGICAL = 0x7fffffff;
const HEX_ID = /^[0-9a-f]{64}$/;

/**
 * RFC 8785 bytes of an envelope: the exact bytes stored, hashed and signed.
 *
 * The envelope's keys are fixed, so they are written in their RFC 8785 order directly and
 * only the payload goes through the general canonicaliser (twice as fast on the append path;
 * a property test holds it byte-identical to `canonicalize`). Text fields were checked
 * well-formed before, and JSON.stringify escapes strings exactly as RFC 8785 does.
 * `payloadText` is the payload's canonical form when the caller already has it.
 */
export function canonicalBytes(e: Envelope, payloadText?: string): Buffer {
  const str = JSON.stringify;
  let s = `{"actor":${str(e.actor)}`;
  if (e.author !== undefined) s += `,"author":${str(e.author)}`;
  if (e.correlationId !== undefined) s += `,"correlationId":${str(e.correlationId)}`;
  s += `,"hlc":{"logical":${e.hlc.logical},"physicalMs":${e.hlc.physicalMs}},"ledger":${str(e.ledger)},"parents":${str(e.parents)}`;
  if (e.payload !== undefined) s += `,"payload":${payloadText ?? canonicalPayload(e.payload)}`;
  if (e.resource !== undefined) s += `,"resource":${str(e.resource)}`;
  if (e.result !== undefined) s += `,"result":${str(e.result)}`;
  if (e.subsystem !== undefined) s += `,"subsystem":${str(e.subsystem)}`;
  s += `,"type":${str(e.type)}}`;
  return Buffer.from(s, 'utf8');
}

/** Payloads whose RFC 8785 text their builder wrote along with them (see withCanonicalText). */
const writtenTexts = new WeakMap<object, string>();

/**
 * Hands over a payload together with its RFC 8785 text, for a service that builds a payload of
 * a fixed shape from checked fields and can write the text as it goes, at a fraction of what
 * canonicalising it again costs. The text is trusted as given, so the payload must be a fresh
 * object of the caller's own, never changed afterwards, and the writer held byte-identical to the
 * reference canonicaliser by a property test. Nothing a client sends can reach this map.
 *
 * @example withCanonicalText({ a: 1 }, '{"a":1}')
 */
export function withCanonicalText<T extends object>(payload: T, text: string): T {
  writtenTexts.set(payload, text);
  return payload;
}

/**
 * RFC 8785 text of a payload. Refuses what it cannot encode (lone surrogates, non-finite numbers).
 * A payload registered with withCanonicalText gets its registered text back, unchecked.
 */
export function canonicalPayload(payload: unknown): string {
  if (typeof payload === 'object' && payload !== null) {
    const written = writtenTexts.get(payload);
    if (written !== undefined) return written;
  }
  if (nestsDeeperThan(payload, MAX_PAYLOAD_DEPTH)) throw new ChainproofError('BAD_USER_INPUT', `payload nests deeper than ${MAX_PAYLOAD_DEPTH} levels`);
  let text: string | undefined;
  try {
    text = rfc8785(payload);
  } catch (cause) {
    throw new ChainproofError('BAD_USER_INPUT', `payload cannot be canonicalised (RFC 8785): ${(cause as Error).message}`, { cause });
  }
  if (text === undefined) throw new ChainproofError('BAD_USER_INPUT', 'payload cannot be canonicalised (RFC 8785)');
  return text;
}

/** Longest origin a synced copy may name: a prefix and a ledger name with room to spare. */
export const MAX_ORIGIN_LENGTH = 512;

/** Text PostgreSQL can store and RFC 8785 can encode: no NUL, no lone surrogate. */
export const isStorableText = (s: string): boolean => !s.includes('\u0000') && isWellFormed(s);

/**
 * Deepest nesting of objects and arrays a payload may have. Canonicalising, hashing and
 * verifying all walk a payload; a limit well inside any stack keeps every one of them able to
 * read back what was written.
 */
export const MAX_PAYLOAD_DEPTH = 64;

/** Whether `value` nests objects and arrays deeper than `max` (iteratively: the value may be attacker-built). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  // Containers only, on two flat stacks: this runs on every append's payload.
  const containers: object[] = [];
  const depths: number[] = [];
  if (typeof value === 'object' && value !== null) {
    containers.push(value);
    depths.push(1);
  }
  while (containers.length > 0) {
    const v = containers.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const child: unknown = v[i];
        if (typeof child === 'object' && child !== null) {
          containers.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      for (const k in v) {
        const child = (v as Record<string, unknown>)[k];
        if (typeof child === 'object' && child !== null) {
          containers.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

export function isHexId(s: string): boolean {
  return HEX_ID.test(s);
}

/** Checks the fields a client controls; throws BAD_USER_INPUT naming the field. */
export function checkEnvelopeFields(e: Omit<Envelope, 'ledger' | 'parents' | 'hlc'> & { parents?: string[]; hlc?: Hlc }): void {
  const bad = (msg: string): never => {
    throw new ChainproofError('BAD_USER_INPUT', msg);
  };
  if (typeof e.type !== 'string' || e.type.length === 0 || e.type.length > 128) bad('type must be 1..128 characters');
  if (typeof e.actor !== 'string' || e.actor.length === 0 || e.actor.length > MAX_TEXT_FIELD) {
    bad(`actor must be 1..${MAX_TEXT_FIELD} characters`);
  }
  for (const f of OPTIONAL_TEXT) {
    const v = e[f];
    if (v !== undefined && (typeof v !== 'string' || v.length > MAX_TEXT_FIELD)) {
      bad(`${f} must be a string of at most ${MAX_TEXT_FIELD} characters`);
    }
  }
  for (const f of ['type', 'actor', ...OPTIONAL_TEXT] as const) {
    const v = e[f];
    // PostgreSQL text cannot hold NUL, and RFC 8785 cannot encode a lone surrogate.
    if (typeof v === 'string' && !isStorableText(v)) {
      bad(`${f} must be well-formed Unicode without NUL characters`);
    }
  }
  if (e.parents !== undefined) {
    if (e.parents.length > MAX_PARENTS) bad(`at most ${MAX_PARENTS} parents`);
    for (const p of e.parents) if (!isHexId(p)) bad(`parent ${JSON.stringify(p)} is not a 64-character lowercase hex event id`);
    if (new Set(e.parents).size !== e.parents.length) bad('parents repeat an id');
  }
  if (e.hlc !== undefined) checkHlc(e.hlc);
}

export function checkHlc(hlc: Hlc): void {
  if (!Number.isSafeInteger(hlc.physicalMs) || hlc.physicalMs < 0) {
    throw new ChainproofError('BAD_USER_INPUT', 'hlc.physicalMs must be a non-negative integer');
  }
  if (!Number.isInteger(hlc.logical) || hlc.logical < 0 || hlc.logical > MAX_HLC_LOGICAL) {
    throw new ChainproofError('BAD_USER_INPUT', 'hlc.logical must be an integer in 0..2^31-1');
  }
}

export function compareHlc(a: Hlc, b: Hlc): number {
  return a.physicalMs !== b.physicalMs ? a.physicalMs - b.physicalMs : a.logical - b.logical;
}

/**
 * Parses stored canonical bytes back into an envelope, refusing anything that is not
 * exactly the canonical form of a well-formed envelope (verification relies on this).
 */
export function parseCanonical(bytes: Uint8Array): Envelope {
  // Decoding replaces a byte that is not UTF-8 with U+FFFD, whose canonical text then matches:
  // such bytes are not the encoding of any canonical text, and the verifier refuses them.
  if (!isUtf8(bytes)) throw new Error('canonical bytes are not valid UTF-8');
  const text = Buffer.from(bytes).toString('utf8');
  const value = JSON.parse(text) as Record<string, unknown>;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('envelope is not an object');
  for (const k of Object.keys(value)) if (!ENVELOPE_KEYS.has(k)) throw new Error(`unknown envelope field ${k}`);
  const env = value as unknown as Envelope;
  if (typeof env.ledger !== 'string' || !Array.isArray(env.parents) || typeof env.hlc !== 'object' || env.hlc === null) {
    throw new Error('envelope lacks ledger, parents or hlc');
  }
  checkEnvelopeFields(env);
  // The reference canonicaliser, not rfc8785(): what is stored is checked by other code than wrote it.
  if (canonicalize(value) !== text) throw new Error('bytes are not in canonical (RFC 8785) form');
  return env;
}
