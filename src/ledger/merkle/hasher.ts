import { hash } from 'node:crypto';
import { blake3 } from '@noble/hashes/blake3.js';

export type HashAlg = 'sha256' | 'blake3';

/** RFC 9162 §2.1.1 tree hashing: the 0x00/0x01 prefixes keep leaves and interior nodes apart. */
export interface TreeHasher {
  readonly alg: HashAlg;
  /** H(0x00 || data) */
  leafHash(data: Uint8Array): Buffer;
  /** H(0x01 || left || right) */
  nodeHash(left: Uint8Array, right: Uint8Array): Buffer;
  /** H(""), the root of the empty tree. */
  emptyRoot(): Buffer;
}

export const HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

type Digest = (...parts: Uint8Array[]) => Buffer;

// sha256 is on the sequencer's hot path, so it uses the native implementation, and its one-shot
// form: for inputs this small a Hash object costs more than copying the parts into one buffer.
const sha256Digest: Digest = (...parts) => hash('sha256', parts.length === 1 ? parts[0]! : Buffer.concat(parts), 'buffer') as Buffer;

const blake3Digest: Digest = (...parts) => {
  const h = blake3.create();
  for (const p of parts) h.update(p);
  return asBuffer(h.digest());
};

function makeHasher(alg: HashAlg, digest: Digest): TreeHasher {
  const empty = digest();
  return Object.freeze({
    alg,
    leafHash: (data: Uint8Array) => digest(LEAF_PREFIX, data),
    nodeHash: (left: Uint8Array, right: Uint8Array) => digest(NODE_PREFIX, left, right),
    // A copy, so a caller that writes into the result cannot corrupt the cache.
    emptyRoot: () => Buffer.from(empty),
  });
}

const hashers: Record<HashAlg, TreeHasher> = {
  sha256: makeHasher('sha256', sha256Digest),
  blake3: makeHasher('blake3', blake3Digest),
};

export function isHashAlg(s: string): s is HashAlg {
  return s === 'sha256' || s === 'blake3';
}

export function treeHasher(alg: HashAlg): TreeHasher {
  if (!isHashAlg(alg)) throw new RangeError(`unknown hash algorithm: ${String(alg)}`);
  return hashers[alg];
}
