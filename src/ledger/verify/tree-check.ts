import { hash } from 'node:crypto';
import type { TreeHasher } from '../merkle/index.js';
import { BinaryCopyReader, readInt64 } from './copy-out.js';
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

const nodesSql = (ledgerId: number, ranges: LevelRange[]): string =>
  ranges
    .map((r) => `(SELECT level, idx, hash FROM tree_nodes WHERE ledger_id = ${ledgerId} AND level = ${r.level} AND idx >= ${r.lo} AND idx < ${r.hi})`)
    .join(' UNION ALL ');

/** One round trip: a primary-key range scan per level. Bounds are computed integers, inlined. */
export async function fetchNodes(db: Snapshot, ledgerId: number, ranges: LevelRange[]): Promise<NodeRow[]> {
  if (ranges.length === 0) return [];
  return db.query<NodeRow>(nodesSql(ledgerId, ranges), []);
}

/** fetchNodes as binary COPY data (level int2, idx int8, hash bytea), for TreeChecker.setStored. */
export async function copyNodes(db: Snapshot, ledgerId: number, ranges: LevelRange[]): Promise<Buffer> {
  if (ranges.length === 0) return Buffer.alloc(0);
  return db.copy(nodesSql(ledgerId, ranges));
}

/** Stored nodes not entirely inside a tree of `size` leaves (beyond it, or at a negative index). */
export async function fetchNodesBeyond(db: Snapshot, ledgerId: number, size: number, limit: number): Promise<NodeRow[]> {
  const parts: string[] = [];
  let level = 1;
  for (let width = 2; level <= 52; level++, width *= 2) {
    // Two range scans: as one `idx >= x OR idx < 0` the planner walks the whole level.
    parts.push(`(SELECT level, idx, hash FROM tree_nodes WHERE ledger_id = $1 AND level = ${level} AND idx >= ${Math.floor(size / width)})`);
    parts.push(`(SELECT level, idx, hash FROM tree_nodes WHERE ledger_id = $1 AND level = ${level} AND idx < 0)`);
  }
  parts.push(`(SELECT level, idx, hash FROM tree_nodes WHERE ledger_id = $1 AND level > 52)`);
  return db.query<NodeRow>(`SELECT * FROM (${parts.join(' UNION ALL ')}) beyond ORDER BY level, idx LIMIT ${limit}`, [ledgerId]);
}

export const leafRange = (level: number, idx: number): [number, number] => [idx * 2 ** level, (idx + 1) * 2 ** level];

/** Tree hashing on hashes held as 32-character latin1 strings: cheap to compare, keep and hash. */
export interface Latin1Hasher {
  /** H(0x00 || data) of `prefixed`, whose first byte is the (zeroed) room for the prefix. */
  leaf(prefixed: Buffer): string;
  node(left: string, right: string): string;
  readonly empty: string;
}

/**
 * node:crypto's one-shot hash() with a string result is three times cheaper than createHash()
 * or a Buffer result for inputs this small, which is most of what full verification does.
 */
export function latin1Hasher(hasher: TreeHasher): Latin1Hasher {
  const empty = hasher.emptyRoot().toString('latin1');
  if (hasher.alg === 'sha256') {
    const scratch = Buffer.alloc(65);
    scratch[0] = 0x01;
    const write = latin1Writer(scratch);
    return {
      empty,
      leaf: (prefixed) => hash('sha256', prefixed, 'binary'), // 'binary' is latin1
      node: (left, right) => {
        write(left, 1);
        write(right, 33);
        return hash('sha256', scratch, 'binary');
      },
    };
  }
  return {
    empty,
    leaf: (prefixed) => hasher.leafHash(prefixed.subarray(1)).toString('latin1'),
    node: (left, right) => hasher.nodeHash(Buffer.from(left, 'latin1'), Buffer.from(right, 'latin1')).toString('latin1'),
  };
}

/**
 * buf.write(s, offset, 'latin1') without its argument juggling, which costs as much as the copy
 * for 32 bytes: Buffer's latin1Write (long-standing but undocumented), when there is one.
 */
function latin1Writer(buf: Buffer): (s: string, offset: number) => void {
  const direct = (buf as unknown as { latin1Write?: (s: string, offset: number) => number }).latin1Write;
  if (typeof direct === 'function') return (s, offset) => void direct.call(buf, s, offset);
  return (s, offset) => void buf.write(s, offset, 'latin1');
}

export const hex = (latin1: string): string => Buffer.from(latin1, 'latin1').toString('hex');

/** MTH of a sequence of leaves, one at a time (a block's own events). */
export class RootBuilder {
  private readonly hashes: string[] = [];
  private n = 0;

  constructor(private readonly h: Latin1Hasher) {}

  append(leaf: string): void {
    let t = leaf;
    for (let m = this.n; m % 2 === 1; m = (m - 1) / 2) t = this.h.node(this.hashes.pop()!, t);
    this.hashes.push(t);
    this.n++;
  }

  /** The root, with `tail` (the root of whatever follows, a smaller tree) folded in last. */
  root(tail?: string): string {
    return fold(this.h, tail === undefined ? this.hashes : [...this.hashes, tail]);
  }
}

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
  private readonly truth: string[] = [];
  private readonly anchored: string[] = [];
  /** Some `anchored` entry differs from its `truth` entry. */
  private diverged = false;
  private n = 0;
  /** Per level: the page's stored hashes, by idx - lo. */
  private stored: Array<{ lo: number; hashes: Array<string | undefined> } | undefined> = [];

  constructor(
    private readonly h: Latin1Hasher,
    private readonly issues: IssueCollector,
  ) {}

  /** Stored nodes for the leaves [a, b) about to be appended: copyNodes(nodesCompletedBy(a, b)). */
  setStored(ranges: LevelRange[], copy: Buffer): void {
    this.stored = [];
    for (const r of ranges) this.stored[r.level] = { lo: r.lo, hashes: new Array<string | undefined>(r.hi - r.lo) };
    const rows = new BinaryCopyReader(copy, 3);
    const { start, len, view } = rows;
    while (rows.next()) {
      if (len[0] !== 2 || len[1] !== 8 || len[2]! < 0) continue;
      const level = this.stored[view.getInt16(start[0]!)];
      const i = readInt64(view, start[1]!) - (level?.lo ?? 0);
      if (level && i >= 0 && i < level.hashes.length) level.hashes[i] = copy.toString('latin1', start[2]!, start[2]! + len[2]!);
    }
  }

  /** The subtree of level `tap` the last append completed (set when it completed one). */
  tapped = '';

  /** Appends a leaf hash; with `tap` >= 0, leaves the level-`tap` subtree it completes, if any, in `tapped`. */
  append(leaf: string, tap = -1): void {
    const h = this.h;
    let t = leaf;
    let a = leaf;
    if (tap === 0) this.tapped = leaf;
    const next = this.n + 1;
    let width = 1;
    for (let level = 1, m = this.n; m % 2 === 1; level++, m = (m - 1) / 2) {
      width *= 2;
      const lt = this.truth.pop()!;
      const la = this.anchored.pop()!;
      const tNew = h.node(lt, t);
      const aNew = la === lt && a === t ? tNew : h.node(la, a);
      if (level === tap) this.tapped = tNew;
      const idx = next / width - 1;
      const range = this.stored[level];
      const s = range?.hashes[idx - range.lo];
      t = tNew;
      if (s === undefined) {
        this.mismatch(level, idx, tNew, undefined);
        a = aNew;
      } else if (s === tNew) {
        a = tNew;
      } else if (s === aNew) {
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
  root(): string {
    return fold(this.h, this.truth);
  }

  /** The root as the stored tree has it (differs from root() only after a reported mismatch). */
  anchoredRoot(): string {
    return this.diverged ? fold(this.h, this.anchored) : this.root();
  }

  /** The right edge in the head row's format (maximal subtrees, largest first). */
  frontierBytes(anchored = false): Buffer {
    return Buffer.from((anchored ? this.anchored : this.truth).join(''), 'latin1');
  }

  /** `claimed` is the root of the leaves ('ok'), or of the stored tree after a reported mismatch ('explained'), or neither ('bad'). */
  judgeRoot(claimed: Buffer, root = this.root()): 'ok' | 'explained' | 'bad' {
    const c = claimed.toString('latin1');
    if (c === root) return 'ok';
    return this.diverged && c === this.anchoredRoot() ? 'explained' : 'bad';
  }

  private mismatch(level: number, idx: number, computed: string, stored: string | undefined): void {
    const [from, to] = leafRange(level, idx);
    this.issues.event(
      'TREE_MISMATCH',
      from,
      stored === undefined
        ? `tree node (level ${level}, index ${idx}) over leaves [${from}, ${to}) is missing`
        : `tree node (level ${level}, index ${idx}) over leaves [${from}, ${to}) is ${hex(stored)}; the leaves give ${hex(computed)}`,
    );
  }
}

function fold(h: Latin1Hasher, hashes: string[]): string {
  if (hashes.length === 0) return h.empty;
  let acc = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) acc = h.node(hashes[i]!, acc);
  return acc;
}
