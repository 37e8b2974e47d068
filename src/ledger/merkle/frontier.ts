import type { TreeHasher } from './hasher.js';
import { HASH_SIZE } from './hasher.js';
import { half, isCount, isOdd, popcount } from './bits.js';

/** A full subtree covering leaves [index*2^level, (index+1)*2^level). */
export interface NewNode {
  level: number;
  index: number;
  hash: Buffer;
}

/**
 * The right edge of the tree: one hash per set bit of `size`, largest subtree first. It is
 * all an append needs, so the sequencer never rereads the log to extend it.
 */
export class Frontier {
  readonly #hasher: TreeHasher;
  #size: number;
  readonly #hashes: Buffer[];

  constructor(hasher: TreeHasher, size = 0, hashes: Buffer[] = []) {
    if (!isCount(size)) throw new RangeError(`invalid tree size: ${size}`);
    if (hashes.length !== popcount(size)) {
      throw new RangeError(`a tree of size ${size} needs ${popcount(size)} frontier hashes, got ${hashes.length}`);
    }
    for (const h of hashes) {
      if (h.length !== HASH_SIZE) throw new RangeError(`frontier hash must be ${HASH_SIZE} bytes, got ${h.length}`);
    }
    this.#hasher = hasher;
    this.#size = size;
    this.#hashes = hashes.map((h) => Buffer.from(h));
  }

  get size(): number {
    return this.#size;
  }

  /** Appends a leaf hash; returns the full subtrees of level >= 1 it completed, lowest first. */
  append(leafHash: Buffer): NewNode[] {
    if (leafHash.length !== HASH_SIZE) throw new RangeError(`leaf hash must be ${HASH_SIZE} bytes`);
    if (this.#size >= Number.MAX_SAFE_INTEGER) throw new RangeError('tree is full');
    const created: NewNode[] = [];
    const newSize = this.#size + 1;
    let hash: Buffer = Buffer.from(leafHash);
    // Each set low bit of the old size is a full subtree of equal height to the left of the
    // one being built, so they merge, exactly like a binary carry.
    let level = 0;
    for (let n = this.#size; isOdd(n); n = half(n)) {
      hash = this.#hasher.nodeHash(this.#hashes.pop()!, hash);
      level++;
      created.push({ level, index: Math.floor(newSize / 2 ** level) - 1, hash });
    }
    this.#hashes.push(hash);
    this.#size = newSize;
    return created;
  }

  /** RFC 9162 MTH of the current tree: the subtrees folded right to left. */
  root(): Buffer {
    const hs = this.#hashes;
    if (hs.length === 0) return this.#hasher.emptyRoot();
    let acc = hs[hs.length - 1]!;
    for (let i = hs.length - 2; i >= 0; i--) acc = this.#hasher.nodeHash(hs[i]!, acc);
    return Buffer.from(acc);
  }

  toBytes(): Buffer {
    return Buffer.concat(this.#hashes);
  }

  static fromBytes(hasher: TreeHasher, size: number, bytes: Buffer): Frontier {
    if (!isCount(size)) throw new RangeError(`invalid tree size: ${size}`);
    const want = popcount(size) * HASH_SIZE;
    if (bytes.length !== want) {
      throw new RangeError(`frontier for size ${size} must be ${want} bytes, got ${bytes.length}`);
    }
    const hashes: Buffer[] = [];
    for (let off = 0; off < bytes.length; off += HASH_SIZE) hashes.push(bytes.subarray(off, off + HASH_SIZE));
    return new Frontier(hasher, size, hashes);
  }
}
