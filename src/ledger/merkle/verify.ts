// Runs in browsers and other non-Node verifiers: @noble/hashes and Uint8Array only.
import { sha256 } from '@noble/hashes/sha2.js';
import { blake3 } from '@noble/hashes/blake3.js';
import type { HashAlg } from './hasher.js';
import { half, isCount, isOdd, isPow2 } from './bits.js';

const HASH_SIZE = 32;
const NODE_PREFIX = Uint8Array.of(0x01);

function nodeHasher(alg: HashAlg): ((l: Uint8Array, r: Uint8Array) => Uint8Array) | undefined {
  const fn = alg === 'sha256' ? sha256 : alg === 'blake3' ? blake3 : undefined;
  if (!fn) return undefined;
  return (l, r) => fn.create().update(NODE_PREFIX).update(l).update(r).digest();
}

const isHash = (h: unknown): h is Uint8Array => h instanceof Uint8Array && h.length === HASH_SIZE;

const allHashes = (proof: unknown): proof is Uint8Array[] => Array.isArray(proof) && proof.every(isHash);

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** RFC 9162 §2.1.3.2. */
export function verifyInclusion(
  alg: HashAlg,
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: Uint8Array[],
  root: Uint8Array,
): boolean {
  try {
    const H = nodeHasher(alg);
    if (!H || !isCount(leafIndex) || !isCount(treeSize)) return false;
    if (!isHash(leafHash) || !isHash(root) || !allHashes(proof)) return false;
    // 1.
    if (leafIndex >= treeSize) return false;
    // 2., 3.
    let fn = leafIndex;
    let sn = treeSize - 1;
    let r = leafHash;
    // 4.
    for (const p of proof) {
      if (sn === 0) return false;
      if (isOdd(fn) || fn === sn) {
        r = H(p, r);
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      } else {
        r = H(r, p);
      }
      fn = half(fn);
      sn = half(sn);
    }
    // 5.
    return sn === 0 && bytesEqual(r, root);
  } catch {
    return false;
  }
}

/**
 * RFC 9162 §2.1.4.2, which covers 0 < size1 < size2. Outside it, as in transparency-dev/merkle:
 * the empty tree is a prefix of every tree, so from size 0 an empty proof verifies whatever
 * size2 (it is what a server answers for fromSize 0), and equal sizes need an empty proof and
 * equal roots. Where nothing is hashed the roots must still be hashes, except at equal sizes
 * above 0: the golden vectors (transparency-dev's testdata) accept equal roots of any length
 * at size 1, and refuse them at size 0.
 */
export function verifyConsistency(
  alg: HashAlg,
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: Uint8Array[],
): boolean {
  try {
    const H = nodeHasher(alg);
    if (!H || !isCount(size1) || !isCount(size2) || !Array.isArray(proof)) return false;
    if (size1 > size2) return false;
    if (size1 === 0) return proof.length === 0 && isHash(root1) && isHash(root2) && (size2 > 0 || bytesEqual(root1, root2));
    if (size1 === size2) {
      return proof.length === 0 && root1 instanceof Uint8Array && root2 instanceof Uint8Array && bytesEqual(root1, root2);
    }
    if (!isHash(root1) || !isHash(root2) || !allHashes(proof)) return false;
    // 1.
    if (proof.length === 0) return false;
    // 2.
    const path = isPow2(size1) ? [root1, ...proof] : proof;
    // 3.
    let fn = size1 - 1;
    let sn = size2 - 1;
    // 4.
    while (isOdd(fn)) {
      fn = half(fn);
      sn = half(sn);
    }
    // 5.
    let fr = path[0]!;
    let sr = path[0]!;
    // 6.
    for (const c of path.slice(1)) {
      if (sn === 0) return false;
      if (isOdd(fn) || fn === sn) {
        fr = H(c, fr);
        sr = H(c, sr);
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      } else {
        sr = H(sr, c);
      }
      fn = half(fn);
      sn = half(sn);
    }
    // 7.
    return bytesEqual(fr, root1) && bytesEqual(sr, root2) && sn === 0;
  } catch {
    return false;
  }
}
