import type { RecentBlock } from '../blocks/index.js';
import type { LedgerRow } from '../entities/index.js';
import { Frontier, treeHasher, type TreeHasher } from '../merkle/index.js';
import type { VerifierKey } from '../note/index.js';
import { checkBlockHeader, toBlock, VERIFY_BLOCK_COLUMNS, type Block, type VerifyBlockRow } from './block-check.js';
import {
  checkCheckpointBlock,
  checkCheckpointNote,
  VERIFY_CHECKPOINT_COLUMNS,
  type SignedHead,
  type VerifyCheckpointRow,
} from './checkpoint-check.js';
import { EventChecker, VERIFY_EVENT_COLUMNS, type VerifyEventRow } from './event-check.js';
import { readHead, type HeadRow } from './head.js';
import { IdIndex } from './id-index.js';
import type { IssueCollector } from './issues.js';
import { ReadAhead } from './read-ahead.js';
import type { Snapshot } from './snapshot.js';
import { fetchNodes, fetchNodesBeyond, leafRange, nodesCompletedBy, TreeChecker } from './tree-check.js';

export interface Counts {
  treeSize: number;
  events: number;
  blocks: number;
  checkpoints: number;
}

export interface FullOptions {
  verifierKey?: VerifierKey;
  onProgress?: (done: number, total: number) => void;
  pageSize?: number;
}

export const DEFAULT_PAGE_SIZE = 10_000;
const BLOCK_PAGE = 5_000;
const CHECKPOINT_PAGE = 1_000;

interface EventPage {
  a: number;
  b: number;
  rows: VerifyEventRow[];
  ranges: ReturnType<typeof nodesCompletedBy>;
  nodes: Awaited<ReturnType<typeof fetchNodes>>;
}

/**
 * Full verification: streams the whole ledger in index order, a page of events (and the tree
 * nodes those leaves complete) at a time, always one page ahead of the hashing. Blocks and
 * checkpoints are read alongside, just ahead of the event stream, so their roots are
 * compared with the recomputed tree as the stream passes their tree sizes.
 */
export async function verifyFull(db: Snapshot, ledger: LedgerRow, opts: FullOptions, issues: IssueCollector, counts: Counts): Promise<void> {
  const head = await readHead(db, ledger.id);
  if (!head) {
    issues.add('HEAD_MISMATCH', {}, `ledger ${ledger.name} has no head row`);
    return;
  }
  counts.treeSize = head.treeSize;
  const run = new FullRun(db, ledger, head, opts, issues, counts);
  try {
    await run.stream();
    await run.finish();
  } finally {
    await run.stop();
  }
}

interface TreeRootCheck {
  size: number;
  height: number;
  root: Buffer;
}
interface EventsRootCheck {
  height: number;
  start: number;
  end: number;
  root: Buffer;
}

class FullRun {
  private readonly hasher: TreeHasher;
  private readonly checker: EventChecker;
  private readonly ids = new IdIndex();
  private readonly tree: TreeChecker;
  private readonly blocks: ReadAhead<VerifyBlockRow>;
  private readonly checkpoints: ReadAhead<VerifyCheckpointRow>;
  private readonly size: number;
  private readonly pageSize: number;

  /** Leaves appended to the recomputed tree. */
  private position = 0;
  /** The event index the stream should deliver next. */
  private expected = 0;
  /** Set at a sequence gap: past it the tree (and every root) cannot be recomputed. */
  private broken = false;
  private maxHlcMs = 0;
  private maxHlcLogical = 0;
  /** Parents not (yet) seen when their child was: resolved at the end. */
  private readonly deferred: Array<{ index: number; parent: Buffer }> = [];

  private prevBlock: Block | undefined;
  private readonly recent: RecentBlock[] = [];
  /** Stored blocks by tree size, until the stream passes it (what checkpoints name). */
  private readonly blocksBySize = new Map<number, { height: number; hash: Buffer; treeSize: number }>();
  private readonly treeRoots: TreeRootCheck[] = [];
  private treeRootsHead = 0;
  private readonly eventsRoots: EventsRootCheck[] = [];
  private eventsRootsHead = 0;
  private blockFrontier: Frontier;
  private readonly heads: SignedHead[] = [];
  private headsHead = 0;
  private lastGoodHead: SignedHead | undefined;
  /** The next tree size some root check waits for. */
  private nextAt = Infinity;

  constructor(
    private readonly db: Snapshot,
    private readonly ledger: LedgerRow,
    private readonly head: HeadRow,
    private readonly opts: FullOptions,
    private readonly issues: IssueCollector,
    private readonly counts: Counts,
  ) {
    this.hasher = treeHasher(ledger.hashAlg);
    this.checker = new EventChecker(ledger, this.hasher, issues);
    this.tree = new TreeChecker(this.hasher, issues);
    this.blockFrontier = new Frontier(this.hasher);
    this.size = head.treeSize;
    this.pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isSafeInteger(this.pageSize) || this.pageSize < 1) throw new RangeError(`pageSize must be a positive integer`);
    const id = ledger.id;
    this.blocks = new ReadAhead<VerifyBlockRow>(
      (after, limit) =>
        db.query(`SELECT ${VERIFY_BLOCK_COLUMNS} FROM blocks WHERE ledger_id = $1 AND height > $2 ORDER BY height LIMIT ${limit}`, [
          id,
          after ? after.height : -1,
        ]),
      BLOCK_PAGE,
      (r) => Number(r.tree_size),
    );
    this.checkpoints = new ReadAhead<VerifyCheckpointRow>(
      (after, limit) =>
        db.query(
          `SELECT ${VERIFY_CHECKPOINT_COLUMNS} FROM checkpoints WHERE ledger_id = $1 AND (tree_size, id) > ($2, $3)
            ORDER BY tree_size, id LIMIT ${limit}`,
          [id, after ? after.tree_size : -1, after ? after.id : -1],
        ),
      CHECKPOINT_PAGE,
      (r) => Number(r.tree_size),
    );
  }

  async stop(): Promise<void> {
    await Promise.all([this.blocks.stop(), this.checkpoints.stop()]);
  }

  private fetchPage(a: number): Promise<EventPage> {
    const b = Math.min(a + this.pageSize, this.size);
    const ranges = this.broken ? [] : nodesCompletedBy(a, b);
    const rows = this.db.query<VerifyEventRow>(
      `SELECT ${VERIFY_EVENT_COLUMNS} FROM events WHERE ledger_id = $1 AND idx >= $2 AND idx < $3 ORDER BY idx`,
      [this.ledger.id, a, b],
    );
    const nodes = fetchNodes(this.db, this.ledger.id, ranges);
    this.blocks.want(b);
    this.checkpoints.want(b);
    const page = Promise.all([rows, nodes]).then(([rows, nodes]) => ({ a, b, rows, ranges, nodes }));
    page.catch(() => undefined); // awaited later; an early stop must not leave it unhandled
    return page;
  }

  async stream(): Promise<void> {
    const n = this.size;
    let next = n > 0 ? this.fetchPage(0) : undefined;
    for (let a = 0; a < n; a += this.pageSize) {
      const page = await next!;
      next = a + this.pageSize < n ? this.fetchPage(a + this.pageSize) : undefined;
      await this.register(page.b);
      if (this.position === this.nextAt) this.fire();
      this.tree.setStored(page.ranges, page.nodes);
      for (const row of page.rows) this.event(row);
      this.opts.onProgress?.(this.counts.events, n);
    }
  }

  /** Reads the blocks and checkpoints the stream meets before tree size `b`. */
  private async register(b: number): Promise<void> {
    for (const row of await this.blocks.take(b, true)) this.block(toBlock(row));
    for (const row of await this.checkpoints.take(b, false)) this.checkpoint(row);
    this.schedule();
  }

  private event(row: VerifyEventRow): void {
    const index = Number(row.idx);
    if (index !== this.expected) {
      if (index > this.expected) {
        const last = index - 1;
        this.issues.event(
          'SEQUENCE_GAP',
          this.expected,
          last === this.expected ? `event ${this.expected} is missing` : `events ${this.expected}..${last} are missing`,
        );
      }
      this.broken = true;
    }
    this.expected = index + 1;

    const ev = this.checker.check(row, index);
    const ids = this.ids;
    const parents = ev.parents;
    for (let off = 0; off < parents.length; off += 32) {
      const p = ids.find(parents, off);
      if (p < 0) {
        if (this.deferred.length < this.issues.remaining) this.deferred.push({ index, parent: Buffer.from(parents.subarray(off, off + 32)) });
        continue;
      }
      ids.markParent(p);
      const pMs = ids.hlcMs(p);
      if (ev.hlcMs < pMs || (ev.hlcMs === pMs && ev.hlcLogical <= ids.hlcLogical(p))) {
        this.issues.event(
          'HLC_ORDER',
          index,
          `event ${index}: hlc ${ev.hlcMs}.${ev.hlcLogical} is not after its parent ${ids.indexOf(p)}'s hlc ${pMs}.${ids.hlcLogical(p)}`,
        );
      }
    }
    ids.add(ev.id, 0, index, ev.hlcMs, ev.hlcLogical);
    if (ev.hlcMs > this.maxHlcMs || (ev.hlcMs === this.maxHlcMs && ev.hlcLogical > this.maxHlcLogical)) {
      this.maxHlcMs = ev.hlcMs;
      this.maxHlcLogical = ev.hlcLogical;
    }
    this.counts.events++;
    if (!this.broken) this.leaf(ev.id);
  }

  private leaf(id: Buffer): void {
    this.tree.append(id);
    const p = this.position;
    const block = this.eventsRoots[this.eventsRootsHead];
    if (block !== undefined && p >= block.start) {
      this.blockFrontier.append(id);
      if (p + 1 === block.end) {
        const root = this.blockFrontier.root();
        if (!root.equals(block.root)) {
          this.issues.block(
            'BLOCK_EVENTS_ROOT',
            block.height,
            `block ${block.height}: events root ${block.root.toString('hex')} is not the root of its events [${block.start}, ${block.end}) (${root.toString('hex')})`,
          );
        }
        this.eventsRootsHead++;
        this.blockFrontier = new Frontier(this.hasher);
      }
    }
    this.position = p + 1;
    if (this.position === this.nextAt) this.fire();
  }

  private block(b: Block): void {
    const rangeOk = checkBlockHeader(b, this.prevBlock, this.recent, this.ledger, this.size, this.issues);
    this.counts.blocks++;
    this.blocksBySize.set(b.treeSize, { height: b.height, hash: b.hash, treeSize: b.treeSize });
    const lastTree = this.treeRoots[this.treeRoots.length - 1];
    if (!this.broken && b.treeSize <= this.size && b.treeSize >= this.position && (!lastTree || b.treeSize > lastTree.size)) {
      this.treeRoots.push({ size: b.treeSize, height: b.height, root: b.treeRoot });
    }
    const lastEvents = this.eventsRoots[this.eventsRoots.length - 1];
    if (rangeOk && !this.broken && b.start >= this.position && (!lastEvents || b.start >= lastEvents.end)) {
      this.eventsRoots.push({ height: b.height, start: b.start, end: b.treeSize, root: b.eventsRoot });
    }
    this.prevBlock = b;
    this.recent.push({ timestamp: b.timestamp, difficulty: b.difficulty });
    if (this.recent.length > this.ledger.retargetBlocks) this.recent.shift();
  }

  private checkpoint(row: VerifyCheckpointRow): void {
    const head = checkCheckpointNote(row, this.ledger, this.opts.verifierKey, this.issues);
    this.counts.checkpoints++;
    if (!head) return;
    if (head.treeSize > this.size) {
      this.issues.checkpoint(
        'CHECKPOINT_ROOT',
        head.id,
        `checkpoint ${head.id} signs a tree of ${head.treeSize} events, but the ledger has ${this.size}`,
      );
      return;
    }
    const last = this.heads[this.heads.length - 1];
    if (!this.broken && head.treeSize >= this.position && (!last || head.treeSize >= last.treeSize)) this.heads.push(head);
  }

  private schedule(): void {
    const t = this.treeRoots[this.treeRootsHead]?.size ?? Infinity;
    const c = this.heads[this.headsHead]?.treeSize ?? Infinity;
    this.nextAt = Math.min(t, c);
  }

  /** Every root check waiting for the current tree size. */
  private fire(): void {
    const s = this.position;
    const root = this.tree.root();
    for (let t = this.treeRoots[this.treeRootsHead]; t && t.size <= s; t = this.treeRoots[++this.treeRootsHead]) {
      if (t.size === s && this.tree.judgeRoot(t.root, root) === 'bad') {
        this.issues.block(
          'BLOCK_TREE_ROOT',
          t.height,
          `block ${t.height}: tree root ${t.root.toString('hex')} is not the root of the first ${s} events (${root.toString('hex')})`,
        );
      }
    }
    for (let h = this.heads[this.headsHead]; h && h.treeSize <= s; h = this.heads[++this.headsHead]) {
      if (h.treeSize !== s) continue;
      checkCheckpointBlock(h, this.blocksBySize.get(s), this.issues);
      const verdict = this.tree.judgeRoot(h.rootHash, root);
      if (verdict !== 'bad') {
        this.lastGoodHead = h;
        continue;
      }
      this.issues.checkpoint(
        'CHECKPOINT_ROOT',
        h.id,
        `checkpoint ${h.id} signs root ${h.rootHash.toString('hex')} for ${s} events, but they give ${root.toString('hex')}`,
      );
      const good = this.lastGoodHead;
      if (good) {
        this.issues.checkpoint(
          'CHECKPOINT_INCONSISTENT',
          h.id,
          `checkpoint ${h.id} (size ${s}) is not consistent with checkpoint ${good.id} (size ${good.treeSize}): no append-only log has both roots and these events`,
        );
      }
    }
    for (const size of this.blocksBySize.keys()) {
      if (size > s) break;
      this.blocksBySize.delete(size);
    }
    this.schedule();
  }

  async finish(): Promise<void> {
    const n = this.size;
    const issues = this.issues;
    if (this.expected < n) {
      issues.event('SEQUENCE_GAP', this.expected, n - 1 === this.expected ? `event ${this.expected} is missing` : `events ${this.expected}..${n - 1} are missing`);
      this.broken = true;
    }
    const stray = await this.db.query<{ idx: string }>(
      `SELECT idx FROM events WHERE ledger_id = $1 AND (idx >= $2 OR idx < 0) ORDER BY idx LIMIT ${issues.remaining}`,
      [this.ledger.id, n],
    );
    for (const r of stray) issues.event('UNSEQUENCED_EVENT', Number(r.idx), `event ${r.idx} is outside the head's ${n} sequenced events`);

    await this.register(Infinity);
    if (!this.broken && this.position === this.nextAt) this.fire();

    if (!this.broken) {
      for (const r of await fetchNodesBeyond(this.db, this.ledger.id, n, issues.remaining)) {
        const [from, to] = leafRange(r.level, Number(r.idx));
        issues.event('TREE_MISMATCH', from, `tree node (level ${r.level}, index ${r.idx}) over leaves [${from}, ${to}) lies beyond the head's ${n} events`);
      }
    }

    for (const d of this.deferred) {
      const p = this.ids.find(d.parent, 0);
      if (p < 0) {
        issues.event('MISSING_PARENT', d.index, `event ${d.index}: parent ${d.parent.toString('hex')} is not in the ledger`);
      } else {
        this.ids.markParent(p);
        issues.event('PARENT_ORDER', d.index, `event ${d.index}: parent ${d.parent.toString('hex')} comes later, at index ${this.ids.indexOf(p)}`);
      }
    }

    if (!this.broken) this.checkHead();
  }

  private checkHead(): void {
    const head = this.head;
    const tree = this.tree;
    const problems: string[] = [];
    if (tree.judgeRoot(head.rootHash) === 'bad') {
      problems.push(`root is ${head.rootHash.toString('hex')}, the events give ${tree.root().toString('hex')}`);
    }
    if (!tree.frontierBytes().equals(head.frontier) && !tree.frontierBytes(true).equals(head.frontier)) {
      problems.push('frontier is not the right edge of the recomputed tree');
    }
    if (head.lastHlcMs !== this.maxHlcMs || head.lastHlcLogical !== this.maxHlcLogical) {
      problems.push(`last hlc is ${head.lastHlcMs}.${head.lastHlcLogical}, the latest event hlc is ${this.maxHlcMs}.${this.maxHlcLogical}`);
    }
    if (!this.tipsMatch()) problems.push('tips are not the events no other event names as a parent');
    if (problems.length > 0) this.issues.add('HEAD_MISMATCH', {}, `head of ${this.ledger.name}: ${problems.join('; ')}`);
  }

  /** Tips = the events nobody names as a parent, in index order. */
  private tipsMatch(): boolean {
    const tips = this.head.tips;
    if (tips.length % 32 !== 0) return false;
    let k = 0;
    for (let p = 0; p < this.ids.size; p++) {
      if (this.ids.isParent(p)) continue;
      if (k + 32 > tips.length || !this.ids.equalsAt(p, tips, k)) return false;
      k += 32;
    }
    return k === tips.length;
  }
}
