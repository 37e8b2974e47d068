import type { LedgerRow } from '../entities/index.js';
import { treeHasher } from '../merkle/index.js';
import type { VerifierKey } from '../note/index.js';
import { toBlock, VERIFY_BLOCK_COLUMNS, type VerifyBlockRow } from './block-check.js';
import { ChainChecker } from './chain-check.js';
import { serverDidsOf, VERIFY_CHECKPOINT_COLUMNS, type VerifyCheckpointRow } from './checkpoint-check.js';
import { EVENT_FIELDS, eventsCopySql } from './content-check.js';
import { inThisThread, inWorker, type ContentChecks } from './content-checks.js';
import { BinaryCopyReader } from './copy-out.js';
import { readHead, type HeadRow } from './head.js';
import type { IssueCollector } from './issues.js';
import { ReadAhead } from './read-ahead.js';
import { reportUnsequenced, SequenceChecker } from './sequence-check.js';
import type { Snapshot } from './snapshot.js';
import { copyNodes, fetchNodesBeyond, hex, latin1Hasher, leafRange, nodesCompletedBy } from './tree-check.js';

export interface Counts {
  treeSize: number;
  events: number;
  blocks: number;
  checkpoints: number;
}

export interface FullOptions {
  verifierKeys: readonly VerifierKey[];
  onProgress?: (done: number, total: number) => void;
  pageSize?: number;
  /** Check event contents in a worker thread: default when the ledger has WORKER_MIN_EVENTS or more. */
  contentWorker?: boolean;
  maxIssues: number;
}

export const DEFAULT_PAGE_SIZE = 10_000;
/** Pages of events requested ahead of the one being checked. */
const PREFETCH = 2;
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
 * nodes those leaves complete) at a time, with the next pages already on their way. Each
 * page goes to the content checks (each event on its own, maybe in a worker thread), then
 * through the sequence checks (how events fit together) and into the chain checks (the
 * recomputed tree and everything compared with it). Blocks and checkpoints are read alongside,
 * just ahead of the event stream, so their roots are compared as the stream passes their
 * tree sizes. Memory: the ids (IdIndex) and a few pages.
 */
export async function verifyFull(db: Snapshot, ledger: LedgerRow, opts: FullOptions, issues: IssueCollector, counts: Counts): Promise<void> {
  const head = await readHead(db, ledger.id);
  if (!head) {
    issues.add('HEAD_MISMATCH', {}, `ledger ${ledger.name} has no head row`);
    return;
  }
  counts.treeSize = head.treeSize;
  const [longest] = await db.query<{ r: number | null }>(`SELECT max(retarget_blocks) AS r FROM blocks WHERE ledger_id = $1`, [ledger.id]);
  const run = new FullRun(db, ledger, head, opts, issues, counts, Math.max(ledger.retargetBlocks, longest?.r ?? 0));
  try {
    await run.stream();
    await run.finish();
  } finally {
    await run.stop();
  }
}

class FullRun {
  private readonly content: ContentChecks;
  private readonly sequence: SequenceChecker;
  private readonly chain: ChainChecker;
  private readonly blocks: ReadAhead<VerifyBlockRow>;
  private readonly checkpoints: ReadAhead<VerifyCheckpointRow>;
  private readonly size: number;
  private readonly pageSize: number;
  /** The largest page of events so far, in bytes. */
  private pageBytes = 0;

  constructor(
    private readonly db: Snapshot,
    private readonly ledger: LedgerRow,
    private readonly head: HeadRow,
    private readonly opts: FullOptions,
    private readonly issues: IssueCollector,
    private readonly counts: Counts,
    retargetWindow: number,
  ) {
    this.size = head.treeSize;
    this.pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isSafeInteger(this.pageSize) || this.pageSize < 1) throw new RangeError(`pageSize must be a positive integer`);
    this.sequence = new SequenceChecker(this.size, issues);
    this.chain = new ChainChecker(latin1Hasher(treeHasher(ledger.hashAlg)), ledger, this.size, opts.verifierKeys, issues, retargetWindow);
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
    const contentLedger = { origin: ledger.origin, hashAlg: ledger.hashAlg, serverDids: serverDidsOf(opts.verifierKeys) };
    const threaded = opts.contentWorker ?? this.size >= WORKER_MIN_EVENTS;
    this.content = (threaded ? inWorker(contentLedger, issues, opts.maxIssues) : undefined) ?? inThisThread(contentLedger, issues);
  }

  async stop(): Promise<void> {
    await Promise.all([this.blocks.stop(), this.checkpoints.stop(), this.content.close()]);
  }

  private fetchPage(a: number, b: number): Promise<EventPage> {
    const ranges = this.sequence.gap ? [] : nodesCompletedBy(a, b);
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
    // Pages grow to pageSize from a small first one (the first wait is all latency), and
    // PREFETCH of them are always on their way while one is checked.
    let end = 0;
    let size = Math.min(this.pageSize, 1024);
    const ahead: Array<Promise<EventPage>> = [];
    const more = () => {
      while (ahead.length < PREFETCH && end < n) {
        ahead.push(this.fetchPage(end, Math.min(n, end + size)));
        end = Math.min(n, end + size);
        size = Math.min(this.pageSize, size * 4);
      }
    };
    more();
    const { sequence, chain } = this;
    while (ahead.length > 0) {
      const page = await ahead.shift()!;
      more();
      await this.register(page.b);
      await this.content.submit(page.events);
      chain.tree.setStored(page.ranges, page.nodes);
      const rows = new BinaryCopyReader(page.events, EVENT_FIELDS);
      while (rows.next()) {
        const id = sequence.event(page.events, rows.view, rows.start, rows.len);
        this.counts.events++;
        if (!sequence.gap) chain.leaf(id);
        else chain.stop();
      }
      this.opts.onProgress?.(this.counts.events, n);
    }
    await this.content.finish();
  }

  /** Reads the blocks and checkpoints the stream meets before tree size `b`. */
  private async register(b: number): Promise<void> {
    for (const row of await this.blocks.take(b, true)) {
      this.chain.block(toBlock(row));
      this.counts.blocks++;
    }
    for (const row of await this.checkpoints.take(b, false)) {
      this.chain.checkpoint(row);
      this.counts.checkpoints++;
    }
    this.chain.catchUp();
  }

  async finish(): Promise<void> {
    const n = this.size;
    const issues = this.issues;
    this.sequence.finish();
    if (this.sequence.gap) this.chain.stop();
    await reportUnsequenced(this.db, this.ledger.id, n, issues);
    await this.register(Infinity);
    if (this.sequence.gap) return; // past a gap nothing below can be recomputed
    for (const r of await fetchNodesBeyond(this.db, this.ledger.id, n, issues.remaining)) {
      const [from, to] = leafRange(r.level, Number(r.idx));
      issues.event('TREE_MISMATCH', from, `tree node (level ${r.level}, index ${r.idx}) over leaves [${from}, ${to}) lies outside the head's ${n} events`);
    }
    this.checkHead();
  }

  /** The head row against the recomputed tree and the events. */
  private checkHead(): void {
    const { head, sequence } = this;
    const tree = this.chain.tree;
    const problems: string[] = [];
    if (tree.judgeRoot(head.rootHash) === 'bad') problems.push(`root is ${head.rootHash.toString('hex')}, the events give ${hex(tree.root())}`);
    if (!tree.frontierBytes().equals(head.frontier) && !tree.frontierBytes(true).equals(head.frontier)) {
      problems.push('frontier is not the right edge of the recomputed tree');
    }
    if (head.lastHlcMs !== sequence.maxHlcMs || head.lastHlcLogical !== sequence.maxHlcLogical) {
      problems.push(`last hlc is ${head.lastHlcMs}.${head.lastHlcLogical}, the latest event hlc is ${sequence.maxHlcMs}.${sequence.maxHlcLogical}`);
    }
    if (!sequence.tipsAre(head.tips)) problems.push('tips are not the events no other event names as a parent');
    if (problems.length > 0) this.issues.add('HEAD_MISMATCH', {}, `head of ${this.ledger.name}: ${problems.join('; ')}`);
  }
}
