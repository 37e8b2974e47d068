import type { TreeHasher } from './hasher.js';
import { HASH_SIZE } from './hasher.js';
import { isCount, splitPoint } from './bits.js';

/** A FULL subtree, covering leaves [index*2^level, (index+1)*2^level); level 0 is a leaf hash. */
export interface NodeRef {
  level: number;
  index: number;
}

/** Storage of full subtree hashes. Returns them in the order asked, in one round trip. */
export interface NodeReader {
  getNodes(refs: NodeRef[]): Promise<Buffer[]>;
}

/** Leaves [start, end). */
export interface LeafRange {
  start: number;
  end: number;
}

/**
 * What a proof needs from storage: element i of the result is MTH of `ranges[i]`, and
 * `refs` are the distinct stored nodes those MTHs are built from, in the order to fetch them.
 */
export interface ProofPlan {
  ranges: LeafRange[];
  refs: NodeRef[];
}

/** The level of [start, start+n) if it is one full aligned subtree, else -1. */
function fullLevel(start: number, n: number): number {
  let level = 0;
  let size = 1;
  while (size < n) {
    size *= 2;
    level++;
  }
  return size === n && start % size === 0 ? level : -1;
}

/**
 * RFC 9162 MTH over stored nodes: split at the largest power of two below the length until
 * each piece is a stored full subtree. For a range starting on a boundary of its own size
 * (every range inside a proof) that is the binary decomposition folded right to left, at
 * most log n nodes; an unaligned start forces smaller pieces, because the range's own tree
 * then never lines up with the stored one.
 */
function foldRange<T>(start: number, end: number, leaf: (ref: NodeRef) => T, node: (l: T, r: T) => T): T {
  const n = end - start;
  const level = fullLevel(start, n);
  if (level >= 0) return leaf({ level, index: start / 2 ** level });
  const k = splitPoint(n);
  return node(foldRange(start, start + k, leaf, node), foldRange(start + k, end, leaf, node));
}

const refKey = (r: NodeRef): string => `${r.level}:${r.index}`;

function makePlan(ranges: LeafRange[]): ProofPlan {
  const refs = new Map<string, NodeRef>();
  for (const { start, end } of ranges) {
    if (start === end) continue;
    foldRange(
      start,
      end,
      (ref) => void refs.set(refKey(ref), ref),
      () => undefined,
    );
  }
  return { ranges, refs: [...refs.values()] };
}

function checkCount(name: string, n: number): void {
  if (!isCount(n)) throw new RangeError(`${name} must be a non-negative safe integer, got ${n}`);
}

/** RFC 9162 §2.1.3.1 PATH(m, D[0:size]), leaf to root. */
export function inclusionPlan(index: number, size: number): ProofPlan {
  checkCount('index', index);
  checkCount('size', size);
  if (index >= size) throw new RangeError(`index ${index} is not below tree size ${size}`);
  const ranges: LeafRange[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const mid = lo + splitPoint(hi - lo);
    if (index < mid) {
      ranges.push({ start: mid, end: hi });
      hi = mid;
    } else {
      ranges.push({ start: lo, end: mid });
      lo = mid;
    }
  }
  return makePlan(ranges.reverse());
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[0:n]); empty when there is nothing to prove. */
export function consistencyPlan(fromSize: number, toSize: number): ProofPlan {
  checkCount('fromSize', fromSize);
  checkCount('toSize', toSize);
  if (fromSize > toSize) throw new RangeError(`fromSize ${fromSize} exceeds toSize ${toSize}`);
  const ranges: LeafRange[] = [];
  if (fromSize === 0 || fromSize === toSize) return makePlan(ranges);
  // SUBPROOF(m, D[lo:hi], b) unrolled; m counts leaves from lo.
  let m = fromSize;
  let lo = 0;
  let hi = toSize;
  let b = true;
  while (m !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (m <= k) {
      ranges.push({ start: lo + k, end: hi });
      hi = lo + k;
    } else {
      ranges.push({ start: lo, end: lo + k });
      lo += k;
      m -= k;
      b = false;
    }
  }
  if (!b) ranges.push({ start: lo, end: hi });
  return makePlan(ranges.reverse());
}

/** MTH of leaves [start, end) as a tree of its own. */
export function rangePlan(start: number, end: number): ProofPlan {
  checkCount('start', start);
  checkCount('end', end);
  if (start > end) throw new RangeError(`start ${start} exceeds end ${end}`);
  return makePlan([{ start, end }]);
}

/**
 * What proves that leaves [start, end) are in the tree of `size` leaves: the MTH of every
 * maximal subtree of RFC 9162's recursion that lies wholly outside the range, left to right.
 * With the range's own leaves they rebuild the root (see rootFromRange), so one proof of
 * about 2·log2(size) hashes covers a whole batch where per-leaf inclusion proofs would take
 * log2(size) each.
 */
export function rangeProofPlan(start: number, end: number, size: number): ProofPlan {
  checkCount('start', start);
  checkCount('end', end);
  checkCount('size', size);
  if (!(start < end && end <= size)) throw new RangeError(`need start < end <= size, got [${start}, ${end}) of ${size}`);
  const ranges: LeafRange[] = [];
  const walk = (lo: number, hi: number): void => {
    if (hi <= start || lo >= end) ranges.push({ start: lo, end: hi });
    else if (lo < start || hi > end) {
      const k = splitPoint(hi - lo);
      walk(lo, lo + k);
      walk(lo + k, hi);
    }
  };
  walk(0, size);
  return makePlan(ranges);
}

/**
 * The root of a tree of `size` leaves rebuilt from the leaf hashes of [start, start +
 * leaves.length) and a range proof (rangeProofPlan's hashes); null when the proof has the
 * wrong number of hashes. The caller compares the result with a root it trusts.
 */
export function rootFromRange(
  hasher: TreeHasher,
  start: number,
  leaves: readonly Buffer[],
  size: number,
  proof: readonly Buffer[],
): Buffer | null {
  const end = start + leaves.length;
  if (!isCount(start) || !isCount(size) || leaves.length === 0 || end > size) return null;
  let used = 0;
  const inside = (lo: number, hi: number): Buffer => {
    if (hi - lo === 1) return leaves[lo - start]!;
    const k = splitPoint(hi - lo);
    return hasher.nodeHash(inside(lo, lo + k), inside(lo + k, hi));
  };
  const walk = (lo: number, hi: number): Buffer | null => {
    if (hi <= start || lo >= end) return used < proof.length ? proof[used++]! : null;
    if (lo >= start && hi <= end) return inside(lo, hi);
    const k = splitPoint(hi - lo);
    const l = walk(lo, lo + k);
    const r = l && walk(lo + k, hi);
    return r && hasher.nodeHash(l, r);
  };
  const root = walk(0, size);
  return root && used === proof.length ? root : null;
}

/** Computes the plan's hashes from `nodes`, the hashes of `plan.refs` in order. */
export function resolvePlan(plan: ProofPlan, nodes: readonly Uint8Array[], hasher: TreeHasher): Buffer[] {
  if (nodes.length !== plan.refs.length) {
    throw new Error(`node reader returned ${nodes.length} hashes for ${plan.refs.length} nodes`);
  }
  const byKey = new Map<string, Buffer>();
  plan.refs.forEach((ref, i) => {
    const h = nodes[i];
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
      throw new Error(`node reader returned a malformed hash for node ${refKey(ref)}`);
    }
    byKey.set(refKey(ref), Buffer.from(h));
  });
  const lookup = (ref: NodeRef): Buffer => byKey.get(refKey(ref))!;
  const join = (l: Buffer, r: Buffer): Buffer => hasher.nodeHash(l, r);
  return plan.ranges.map(({ start, end }) =>
    start === end ? hasher.emptyRoot() : foldRange(start, end, lookup, join),
  );
}

// One query per call, and none when nothing is needed (so a DB never sees `IN ()`).
async function run(reader: NodeReader, hasher: TreeHasher, plan: ProofPlan): Promise<Buffer[]> {
  const nodes = plan.refs.length === 0 ? [] : await reader.getNodes(plan.refs);
  return resolvePlan(plan, nodes, hasher);
}

export async function inclusionProof(
  reader: NodeReader,
  hasher: TreeHasher,
  index: number,
  size: number,
): Promise<Buffer[]> {
  return run(reader, hasher, inclusionPlan(index, size));
}

export async function rangeProof(
  reader: NodeReader,
  hasher: TreeHasher,
  start: number,
  end: number,
  size: number,
): Promise<Buffer[]> {
  return run(reader, hasher, rangeProofPlan(start, end, size));
}

export async function consistencyProof(
  reader: NodeReader,
  hasher: TreeHasher,
  fromSize: number,
  toSize: number,
): Promise<Buffer[]> {
  return run(reader, hasher, consistencyPlan(fromSize, toSize));
}

/** MTH of the tree's first `size` leaves; the empty-tree root for size 0. */
export async function rootAt(reader: NodeReader, hasher: TreeHasher, size: number): Promise<Buffer> {
  checkCount('size', size);
  const [root] = await run(reader, hasher, rangePlan(0, size));
  return root!;
}

/**
 * MTH of leaves [start, end), any range. O(log n) nodes when start is a multiple of the
 * largest power of two below end - start (e.g. a block starting on a power-of-two boundary);
 * otherwise it needs up to (end - start) / 2^(trailing zeros of start) nodes.
 */
export async function subtreeRoot(
  reader: NodeReader,
  hasher: TreeHasher,
  start: number,
  end: number,
): Promise<Buffer> {
  const [root] = await run(reader, hasher, rangePlan(start, end));
  return root!;
}
