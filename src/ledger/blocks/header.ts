import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export interface BlockHeader {
  height: number;
  /** 64 lowercase hex; the genesis block uses GENESIS_PREVIOUS_HASH. */
  previousHash: string;
  eventsRoot: string;
  treeSize: number;
  treeRoot: string;
  /** Milliseconds since the Unix epoch. */
  timestamp: number;
  /** Required number of leading zero bits in blockHash. */
  difficulty: number;
  nonce: number;
}

export type BlockTemplate = Omit<BlockHeader, 'nonce'>;

export const GENESIS_PREVIOUS_HASH = '0'.repeat(64);
/** A SHA-256 digest cannot have more leading zero bits than this. */
export const MAX_DIFFICULTY_BITS = 256;

const HEX64_RE = /^[0-9a-f]{64}$/;
const LONE_SURROGATE_RE = /\p{Cs}/u;
const INTEGER_FIELDS = ['height', 'treeSize', 'timestamp', 'difficulty'] as const;

/**
 * Rejects headers whose hash would be ambiguous or that JCS cannot encode: fractional, negative
 * or unsafe integers, roots that are not well-formed strings, or a non-canonical previousHash.
 */
export function assertValidTemplate(t: BlockTemplate): void {
  for (const field of INTEGER_FIELDS) {
    const v = t[field];
    if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`block header ${field} must be a non-negative safe integer, got ${String(v)}`);
  }
  if (t.difficulty > MAX_DIFFICULTY_BITS) throw new RangeError(`difficulty ${t.difficulty} exceeds ${MAX_DIFFICULTY_BITS} bits`);
  if (typeof t.previousHash !== 'string' || !HEX64_RE.test(t.previousHash)) {
    throw new TypeError('block header previousHash must be 64 lowercase hex digits');
  }
  for (const field of ['eventsRoot', 'treeRoot'] as const) {
    const v = t[field];
    // JCS has no encoding for lone surrogates; catching them here keeps the miner and blockHash in agreement.
    if (typeof v !== 'string' || LONE_SURROGATE_RE.test(v)) throw new TypeError(`block header ${field} must be a well-formed string`);
  }
}

export function assertValidHeader(h: BlockHeader): void {
  assertValidTemplate(h);
  if (!Number.isSafeInteger(h.nonce) || h.nonce < 0) throw new TypeError(`block header nonce must be a non-negative safe integer, got ${String(h.nonce)}`);
}

/** RFC 8785 (JCS) bytes of exactly the eight header fields; extra properties on `h` are ignored. */
export function canonicalHeader(h: BlockHeader): Buffer {
  assertValidHeader(h);
  const fields: BlockHeader = {
    height: h.height,
    previousHash: h.previousHash,
    eventsRoot: h.eventsRoot,
    treeSize: h.treeSize,
    treeRoot: h.treeRoot,
    timestamp: h.timestamp,
    difficulty: h.difficulty,
    nonce: h.nonce,
  };
  return Buffer.from(canonicalize(fields)!, 'utf8');
}

export function blockHash(h: BlockHeader): Buffer {
  return createHash('sha256').update(canonicalHeader(h)).digest();
}

export function leadingZeroBits(hash: Uint8Array): number {
  let bits = 0;
  for (const byte of hash) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

export function meetsDifficulty(hash: Uint8Array, difficulty: number): boolean {
  // A negative or fractional target would silently accept every hash, so refuse it loudly.
  if (!Number.isInteger(difficulty) || difficulty < 0) throw new RangeError(`difficulty must be a non-negative integer, got ${difficulty}`);
  return leadingZeroBits(hash) >= difficulty;
}

/** A block as stored: hashes as bytes, time in ms. */
export interface StoredBlockHeader {
  height: number;
  previousHash: Uint8Array;
  eventsRoot: Uint8Array;
  treeSize: number;
  treeRoot: Uint8Array;
  timestampMs: number;
  difficulty: number;
  nonce: number;
}

/** The header a stored block was mined with, for recomputing its hash. */
export function headerOfStored(b: StoredBlockHeader): BlockHeader {
  const hex = (h: Uint8Array) => Buffer.from(h).toString('hex');
  return {
    height: b.height,
    previousHash: hex(b.previousHash),
    eventsRoot: hex(b.eventsRoot),
    treeSize: b.treeSize,
    treeRoot: hex(b.treeRoot),
    timestamp: b.timestampMs,
    difficulty: b.difficulty,
    nonce: b.nonce,
  };
}
