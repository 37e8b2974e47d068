// An independent, deliberately naive model of RFC 9162 §2.1, written from the recursive
// definitions, for the library to be checked against.
import { createHash } from 'node:crypto';
import { blake3 } from '@noble/hashes/blake3.js';
import type { HashAlg, NodeReader, NodeRef } from '../../src/ledger/merkle/index.js';

export const ALGS: HashAlg[] = ['sha256', 'blake3'];

export function hash(alg: HashAlg, ...parts: Uint8Array[]): Buffer {
  const data = Buffer.concat(parts);
  return alg === 'sha256' ? createHash('sha256').update(data).digest() : Buffer.from(blake3(data));
}

export const leafHash = (alg: HashAlg, data: Uint8Array): Buffer => hash(alg, Buffer.of(0), data);
export const nodeHash = (alg: HashAlg, l: Uint8Array, r: Uint8Array): Buffer => hash(alg, Buffer.of(1), l, r);

function largestPow2Below(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes. */
export function mth(alg: HashAlg, leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return hash(alg);
  if (leaves.length === 1) return leaves[0]!;
  const k = largestPow2Below(leaves.length);
  return nodeHash(alg, mth(alg, leaves.slice(0, k)), mth(alg, leaves.slice(k)));
}

/** PATH(m, D[n]) */
export function path(alg: HashAlg, m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = largestPow2Below(leaves.length);
  return m < k
    ? [...path(alg, m, leaves.slice(0, k)), mth(alg, leaves.slice(k))]
    : [...path(alg, m - k, leaves.slice(k)), mth(alg, leaves.slice(0, k))];
}

function subproof(alg: HashAlg, m: number, leaves: Buffer[], b: boolean): Buffer[] {
  const n = leaves.length;
  if (m === n) return b ? [] : [mth(alg, leaves)];
  const k = largestPow2Below(n);
  return m <= k
    ? [...subproof(alg, m, leaves.slice(0, k), b), mth(alg, leaves.slice(k))]
    : [...subproof(alg, m - k, leaves.slice(k), false), mth(alg, leaves.slice(0, k))];
}

/** PROOF(m, D[n]) */
export const consistency = (alg: HashAlg, m: number, leaves: Buffer[]): Buffer[] =>
  m === 0 || m === leaves.length ? [] : subproof(alg, m, leaves, true);

export function makeLeaves(alg: HashAlg, n: number, seed = 0): Buffer[] {
  return Array.from({ length: n }, (_, i) => leafHash(alg, Buffer.from(`leaf ${seed}/${i}`)));
}

/** Every full subtree inside a tree of `size` leaves, as "level:index". */
export function fullNodeKeys(size: number, minLevel = 0): Set<string> {
  const keys = new Set<string>();
  for (let level = minLevel, w = 2 ** minLevel; w <= size; level++, w *= 2) {
    for (let i = 0; (i + 1) * w <= size; i++) keys.add(`${level}:${i}`);
  }
  return keys;
}

const nodeCache = new WeakMap<Buffer[], Map<string, Buffer>>();

/**
 * Serves full subtree hashes of a log, but only those that exist once the log has `limit`
 * leaves, so a proof that reaches past its tree size (or asks for a partial node) fails.
 */
export class MemoryReader implements NodeReader {
  readonly calls: NodeRef[][] = [];

  constructor(
    readonly alg: HashAlg,
    readonly leaves: Buffer[],
    readonly limit = leaves.length,
  ) {}

  async getNodes(refs: NodeRef[]): Promise<Buffer[]> {
    this.calls.push(refs.map((r) => ({ ...r })));
    return refs.map(({ level, index }) => {
      const w = 2 ** level;
      if (!Number.isInteger(level) || level < 0 || !Number.isInteger(index) || index < 0) {
        throw new Error(`bad ref ${level}:${index}`);
      }
      if ((index + 1) * w > this.limit) throw new Error(`node ${level}:${index} is not full at size ${this.limit}`);
      let cache = nodeCache.get(this.leaves);
      if (!cache) nodeCache.set(this.leaves, (cache = new Map()));
      const key = `${level}:${index}`;
      if (!cache.has(key)) cache.set(key, mth(this.alg, this.leaves.slice(index * w, (index + 1) * w)));
      return cache.get(key)!;
    });
  }

  get refCount(): number {
    return this.calls.reduce((n, c) => n + c.length, 0);
  }
}

export const log2ceil = (n: number): number => (n <= 1 ? 0 : Math.ceil(Math.log2(n)));

/** The bound the DB layer relies on: O(log n) rows per proof. */
export const refBound = (size: number): number => 2 * log2ceil(size) + 2;
