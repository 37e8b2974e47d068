import type { RecentBlock } from '../blocks/index.js';
import type { LedgerRow } from '../entities/index.js';
import { treeHasher } from '../merkle/index.js';
import type { VerifierKey } from '../note/index.js';
import { checkBlockHeader, toBlock, VERIFY_BLOCK_COLUMNS, type Block, type VerifyBlockRow } from './block-check.js';
import {
  checkCheckpointBlock,
  checkCheckpointNote,
  VERIFY_CHECKPOINT_COLUMNS,
  type SignedHead,
  type VerifyCheckpointRow,
} from './checkpoint-check.js';
import { EVENT_FIELDS, eventsCopySql, F } from './content-check.js';
import { inThisThread, inWorker, type ContentChecks } from './content-checks.js';
import { BinaryCopyReader, readInt64 } from './copy-out.js';
import { readHead, type HeadRow } from './head.js';
import { IdIndex, viewOf } from './id-index.js';
import type { IssueCollector } from './issues.js';
import { ReadAhead } from './read-ahead.js';
import type { Snapshot } from './snapshot.js';
import { copyNodes, fetchNodesBeyond, hex, latin1Hasher, leafRange, nodesCompletedBy, RootBuilder, TreeChecker, type Latin1Hasher } from './tree-check.js';

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
  /** Check event contents in a worker thread: default when the ledger has WORKER_MIN_EVENTS or more. */
  contentWorker?: boolean;
  maxIssues: number;
}

export const DEFAULT_PAGE_SIZE = 10_000;
/** Below this, a worker thread costs more to start than it saves. */
export const WORKER_MIN_EVENTS = 50_000;
const BLOCK_PAGE = 5_000;
const CHECKPOINT_PAGE = 1_000;

interface EventPage {
  a: number;
  b: number;
  /** Binary COPY data: the events with idx in [a, b). */
  events: Buffer;
  ranges: ReturnType<typeof nodesCompletedBy>;
  /** Binary COPY data: the tree nodes those leaves complete. */
  nodes: Buffer;
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
  private readonly h: Latin1Hasher;
  private readonly content: ContentChecks;
  private readonly ids: IdIndex;
  private readonly tree: TreeChecker;
  private readonly blocks: ReadAhead<VerifyBlockRow>;
  private readonly checkpoints: ReadAhead<VerifyCheckpointRow>;
  private readonly size: number;
  private readonly pageSize: number;

  /** The largest page of events so far, in bytes. */
  private pageBytes = 0;
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
  private blockRoot: RootBuilder;
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
    const hasher = treeHasher(ledger.hashAlg);
    this.h = latin1Hasher(hasher);
    const contentLedger = { origin: ledger.origin, hashAlg: ledger.hashAlg };
    const threaded = opts.contentWorker ?? head.treeSize >= WORKER_MIN_EVENTS;
    this.content = (threaded ? inWorker(contentLedger, issues, opts.maxIssues) : undefined) ?? inThisThread(contentLedger, issues);
    this.tree = new TreeChecker(this.h, issues);
    this.blockRoot = new RootBuilder(this.h);
    this.size = head.treeSize;
    this.ids = new IdIndex(head.treeSize);
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
    await Promise.all([this.blocks.stop(), this.checkpoints.stop(), this.content.close()]);
  }

  private fetchPage(a: number): Promise<EventPage> {
    const b = Math.min(a + this.pageSize, this.size);
    const ranges = this.broken ? [] : nodesCompletedBy(a, b);
    // Pages are alike: expect this one about the size of the last (one allocation, no growing).
    const hint = this.pageBytes > 0 ? Math.ceil(this.pageBytes * 1.25) : undefined;
    const events = this.db.copy(eventsCopySql(this.ledger.id, a, b), this.content.shared, hint).then((data) => {
      this.pageBytes = Math.max(this.pageBytes, data.length);
      return data;
    });
    const nodes = copyNodes(this.db, this.ledger.id, ranges);
    this.blocks.want(b);
    this.checkpoints.want(b);
    const page = Promise.all([events, nodes]).then(([events, nodes]) => ({ a, b, events, ranges, nodes }));
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
      // Each event on its own (maybe on the other core, meanwhile), then how they fit together.
      await this.content.submit(page.events);
      this.tree.setStored(page.ranges, page.nodes);
      const rows = new BinaryCopyReader(page.events, EVENT_FIELDS);
      while (rows.next()) this.event(page.events, rows.view, rows.start, rows.len);
      this.opts.onProgress?.(this.counts.events, n);
    }
    await this.content.finish();
  }

  /** Reads the blocks and checkpoints the stream meets before tree size `b`. */
  private async register(b: number): Promise<void> {
    for (const row of await this.blocks.take(b, true)) this.block(toBlock(row));
    for (const row of await this.checkpoints.take(b, false)) this.checkpoint(row);
    this.schedule();
  }

  /**
   * How an event fits with the others: its place in the sequence and the tree, its parents.
   * From the columns (the indexed copies of the envelope's fields, checked equal to it by the
   * content checks), so the two kinds of check are independent.
   */
  private event(buf: Buffer, view: DataView, start: Int32Array, len: Int32Array): void {
    const index = readInt64(view, start[F.idx]!);
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

    let idView = view;
    let idOff = start[F.id]!;
    let id: string;
    if (len[F.id] === 32) id = buf.toString('latin1', idOff, idOff + 32);
    else {
      // Reported by the content checks; here it only has to be 32 bytes of something.
      const fixed = Buffer.alloc(32);
      if (len[F.id]! > 0) buf.copy(fixed, 0, idOff, idOff + Math.min(32, len[F.id]!));
      idView = viewOf(fixed);
      idOff = 0;
      id = fixed.toString('latin1');
    }
    const hlcMs = len[F.hlcMs] === 8 ? readInt64(view, start[F.hlcMs]!) : 0;
    const hlcLogical = len[F.hlcLogical] === 4 ? view.getInt32(start[F.hlcLogical]!) : 0;

    const ids = this.ids;
    const ps = start[F.parents]!;
    const pe = ps + Math.max(0, len[F.parents]! - (len[F.parents]! % 32));
    for (let off = ps; off < pe; off += 32) {
      const p = ids.find(view, off);
      if (p < 0) {
        if (this.deferred.length < this.issues.remaining) this.deferred.push({ index, parent: Buffer.from(buf.subarray(off, off + 32)) });
        continue;
      }
      ids.markParent(p);
      const pMs = ids.hlcMs(p);
      if (hlcMs < pMs || (hlcMs === pMs && hlcLogical <= ids.hlcLogical(p))) {
        this.issues.event(
          'HLC_ORDER',
          index,
          `event ${index}: hlc ${hlcMs}.${hlcLogical} is not after its parent ${ids.indexOf(p)}'s hlc ${pMs}.${ids.hlcLogical(p)}`,
        );
      }
    }
    ids.add(idView, idOff, index, hlcMs, hlcLogical);
    if (hlcMs > this.maxHlcMs || (hlcMs === this.maxHlcMs && hlcLogical > this.maxHlcLogical)) {
      this.maxHlcMs = hlcMs;
      this.maxHlcLogical = hlcLogical;
    }
    this.counts.events++;
    if (!this.broken) this.leaf(id);
  }

  private leaf(id: string): void {
    this.tree.append(id);
    const p = this.position;
    const block = this.eventsRoots[this.eventsRootsHead];
    if (block !== undefined && p >= block.start) {
      this.blockRoot.append(id);
      if (p + 1 === block.end) {
        const root = this.blockRoot.root();
        if (root !== block.root.toString('latin1')) {
          this.issues.block(
            'BLOCK_EVENTS_ROOT',
            block.height,
            `block ${block.height}: events root ${block.root.toString('hex')} is not the root of its events [${block.start}, ${block.end}) (${hex(root)})`,
          );
        }
        this.eventsRootsHead++;
        this.blockRoot = new RootBuilder(this.h);
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
          `block ${t.height}: tree root ${t.root.toString('hex')} is not the root of the first ${s} events (${hex(root)})`,
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
        `checkpoint ${h.id} signs root ${h.rootHash.toString('hex')} for ${s} events, but they give ${hex(root)}`,
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
      const p = this.ids.find(viewOf(d.parent), 0);
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
      problems.push(`root is ${head.rootHash.toString('hex')}, the events give ${hex(tree.root())}`);
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
    const view = viewOf(tips);
    let k = 0;
    for (let p = 0; p < this.ids.size; p++) {
      if (this.ids.isParent(p)) continue;
      if (k + 32 > tips.length || !this.ids.equalsAt(p, view, k)) return false;
      k += 32;
    }
    return k === tips.length;
  }
}
