import type { TreeHasher } from '../merkle/index.js';
import type { IssueCollector } from './issues.js';
import type { Snapshot } from './snapshot.js';

/** Stored nodes of one level with idx in [lo, hi). */
interface LevelRange {
  level: number;
  lo: number;
  hi: number;
}

interface NodeRow {
  level: number;
  idx: string;
  hash: Buffer;
}

/**
 * The level >= 1 nodes that appending leaves [a, b) completes: at level l, the node idx
 * completes when leaf (idx+1)*2^l - 1 is appended, so idx runs over [floor(a/2^l), floor(b/2^l)).
 */
export function nodesCompletedBy(a: number, b: number): LevelRange[] {
  const ranges: LevelRange[] = [];
  for (let level = 1, width = 2; width <= b; level++, width *= 2) {
    const lo = Math.floor(a / width);
    const hi = Math.floor(b / width);
    if (lo < hi) ranges.push({ level, lo, hi });
  }
  return ranges;
}

/** One round trip: a primary-key range scan per level. Bounds are computed integers, inlined. */
export async function fetchNodes(db: Snapshot, ledgerId: number, ranges: LevelRange[]): Promise<NodeRow[]> {
  if (ranges.length === 0) return [];
  const sql = ranges
    .map((r) => `(SELECT level, idx, hash FROM tree_nodes WHERE ledger_id = $1 AND level = ${r.level} AND idx >= ${r.lo} AND idx < ${r.hi})`)
    .join(' UNION ALL ');
  return db.query<NodeRow>(sql, [ledgerId]);
}

/** Stored nodes beyond a tree of `size` leaves (any node not entirely inside it). */
export async function fetchNodesBeyond(db: Snapshot, ledgerId: number, size: number, limit: number): Promise<NodeRow[]> {
  const parts: string[] = [];
  let level = 1;
  for (let width = 2; level <= 52; level++, width *= 2) {
    parts.push(`(SELECT level, idx, hash FROM tree_nodes WHERE ledger_id = $1 AND level = ${level} AND idx >= ${Math.floor(size / width)})`);
  }
  parts.push(`(SELECT level, idx, hash FROM tree_nodes WHERE ledger_id = $1 AND level > 52)`);
  return db.query<NodeRow>(`SELECT * FROM (${parts.join(' UNION ALL ')}) beyond ORDER BY level, idx LIMIT ${limit}`, [ledgerId]);
}

export const leafRange = (level: number, idx: number): [number, number] => [idx * 2 ** level, (idx + 1) * 2 ** level];

/**
 * Recomputes the tree leaf by leaf, the way the sequencer's Frontier grows it, and compares
 * every node an append completes with the stored one.
 *
 * It keeps two right edges: `truth`, from the leaves alone, and `anchored`, which takes the
 * stored node wherever one exists. A stored node is reported when it matches neither the
 * hash of its leaves nor the hash of its stored children: so a changed leaf is reported once
 * (at the lowest node above it; the stored nodes higher up still agree with their stored
 * children) and a corrupted stored node once (its parent still agrees with the leaves). Roots
 * a block, checkpoint or head signs are checked against `truth`; when they match `anchored`
 * instead, the difference is the one already reported, and is not reported again for every
 * later block and checkpoint.
 */
export class TreeChecker {
  private readonly truth: Buffer[] = [];
  private readonly anchored: Buffer[] = [];
  /** Some `anchored` entry differs from its `truth` entry. */
  private diverged = false;
  private n = 0;
  /** Per level: the page's stored hashes, by idx - lo. */
  private stored: Array<{ lo: number; hashes: Array<Buffer | undefined> } | undefined> = [];

  constructor(
    private readonly hasher: TreeHasher,
    private readonly issues: IssueCollector,
  ) {}

  get size(): number {
    return this.n;
  }

  /** Stored nodes for the leaves [a, b) about to be appended (from fetchNodes(nodesCompletedBy(a, b))). */
  setStored(ranges: LevelRange[], rows: NodeRow[]): void {
    this.stored = [];
    for (const r of ranges) this.stored[r.level] = { lo: r.lo, hashes: new Array<Buffer | undefined>(r.hi - r.lo) };
    for (const row of rows) {
      const level = this.stored[row.level];
      const i = Number(row.idx) - (level?.lo ?? 0);
      if (level && i >= 0 && i < level.hashes.length) level.hashes[i] = row.hash;
    }
  }

  append(leaf: Buffer): void {
    const H = this.hasher;
    let t = leaf;
    let a = leaf;
    const next = this.n + 1;
    let width = 1;
    for (let level = 1, m = this.n; m % 2 === 1; level++, m = (m - 1) / 2) {
      width *= 2;
      const lt = this.truth.pop()!;
      const la = this.anchored.pop()!;
      const tNew = H.nodeHash(lt, t);
      const aNew = la === lt && a === t ? tNew : H.nodeHash(la, a);
      const idx = next / width - 1;
      const range = this.stored[level];
      const s = range?.hashes[idx - range.lo];
      t = tNew;
      if (s === undefined) {
        this.mismatch(level, idx, tNew, undefined);
        a = aNew;
      } else if (s.equals(tNew)) {
        a = tNew;
      } else if (s.equals(aNew)) {
        a = aNew;
      } else {
        this.mismatch(level, idx, tNew, s);
        a = s;
      }
      if (a !== t) this.diverged = true;
    }
    this.truth.push(t);
    this.anchored.push(a);
    this.n = next;
  }

  /** RFC 9162 MTH of the leaves so far. */
  root(): Buffer {
    return fold(this.hasher, this.truth);
  }

  /** The root as the stored tree has it (differs from root() only after a reported mismatch). */
  anchoredRoot(): Buffer {
    return this.diverged ? fold(this.hasher, this.anchored) : this.root();
  }

  /** The right edge in the head row's format (maximal subtrees, largest first). */
  frontierBytes(anchored = false): Buffer {
    return Buffer.concat(anchored ? this.anchored : this.truth);
  }

  /** `claimed` is the root of the leaves ('ok'), or of the stored tree after a reported mismatch ('explained'), or neither ('bad'). */
  judgeRoot(claimed: Buffer, root = this.root()): 'ok' | 'explained' | 'bad' {
    if (claimed.equals(root)) return 'ok';
    return this.diverged && claimed.equals(this.anchoredRoot()) ? 'explained' : 'bad';
  }

  private mismatch(level: number, idx: number, computed: Buffer, stored: Buffer | undefined): void {
    const [from, to] = leafRange(level, idx);
    this.issues.event(
      'TREE_MISMATCH',
      from,
      stored === undefined
        ? `tree node (level ${level}, index ${idx}) over leaves [${from}, ${to}) is missing`
        : `tree node (level ${level}, index ${idx}) over leaves [${from}, ${to}) is ${stored.toString('hex')}; the leaves give ${computed.toString('hex')}`,
    );
  }
}

function fold(hasher: TreeHasher, hashes: Buffer[]): Buffer {
  if (hashes.length === 0) return hasher.emptyRoot();
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = hasher.nodeHash(hashes[i]!, acc);
  return acc;
}
