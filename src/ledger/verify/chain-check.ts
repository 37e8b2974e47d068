import type { RecentBlock } from '../blocks/index.js';
import type { LedgerRow } from '../entities/index.js';
import type { VerifierKey } from '../note/index.js';
import { checkBlockHeader, type Block } from './block-check.js';
import { checkCheckpointBlock, checkCheckpointNote, type NamedBlock, type SignedHead, type VerifyCheckpointRow } from './checkpoint-check.js';
import type { IssueCollector } from './issues.js';
import { Queue } from './queue.js';
import { hex, RootBuilder, TreeChecker, type Latin1Hasher } from './tree-check.js';

interface TreeRootCheck {
  size: number;
  height: number;
  root: Buffer;
}

/**
 * A block's events root, MTH of its leaves [start, end), is computed from the recomputed
 * tree's own subtrees where they line up: with start a multiple of 2^tap, the block's leaves
 * up to chunkEnd are whole aligned subtrees of level `tap` (taken from the tree as it builds
 * them), and only the rest (fewer than 2^tap leaves) is hashed again. For the usual block
 * (a thousand events, starting at a multiple of eight) that is an eighth of the work.
 */
interface EventsRootCheck {
  height: number;
  start: number;
  end: number;
  root: Buffer;
  tap: number;
  chunkEnd: number;
}

function eventsRootCheck(height: number, start: number, end: number, root: Buffer): EventsRootCheck {
  let tap = 0;
  while (2 ** (tap + 1) <= end - start && (start === 0 || start % 2 ** (tap + 1) === 0)) tap++;
  const width = 2 ** tap;
  return { height, start, end, root, tap, chunkEnd: start + Math.floor((end - start) / width) * width };
}

/**
 * The recomputed tree and everything checked against it, as leaves arrive in order: stored
 * tree nodes (TreeChecker), each block's header, events root and tree root, each checkpoint's
 * note, block and root, and the consistency of checkpoints with each other. Blocks and
 * checkpoints must be registered before the stream reaches their tree sizes (in order of
 * tree size); a root check then fires when the tree reaches that size.
 */
export class ChainChecker {
  readonly tree: TreeChecker;
  /** Leaves appended. */
  private position = 0;
  /** Set once the tree cannot be recomputed (a sequence gap): no root check fires after. */
  private stopped = false;

  private prevBlock: Block | undefined;
  private readonly recent: RecentBlock[] = [];
  /** Stored blocks by tree size, until the tree passes it (what checkpoints name). */
  private readonly blocksBySize = new Map<number, NamedBlock>();
  private readonly treeRoots = new Queue<TreeRootCheck>();
  private readonly eventsRoots = new Queue<EventsRootCheck>();
  /** The current block's events root: over its level-`tap` subtrees, then over its last leaves. */
  private blockRoot: RootBuilder;
  private blockTail: RootBuilder;
  private readonly heads = new Queue<SignedHead>();
  private lastGoodHead: SignedHead | undefined;
  /** The next tree size a root check waits for. */
  private nextAt = Infinity;
  /** The verifier's clock, read once: every block is judged against the same instant. */
  private readonly nowMs = Date.now();

  constructor(
    private readonly h: Latin1Hasher,
    private readonly ledger: LedgerRow,
    /** The head's tree size. */
    private readonly size: number,
    private readonly verifierKeys: readonly VerifierKey[],
    private readonly issues: IssueCollector,
    /** Blocks kept for the retarget rule: the longest window any block's settings (or the ledger's) ask for. */
    private readonly window = ledger.retargetBlocks,
  ) {
    this.tree = new TreeChecker(h, issues);
    this.blockRoot = new RootBuilder(h);
    this.blockTail = new RootBuilder(h);
  }

  get treeSize(): number {
    return this.position;
  }

  /** No more leaves will come in order (a gap): roots can no longer be recomputed. */
  stop(): void {
    this.stopped = true;
  }

  /** The next block, in height order. */
  block(b: Block): void {
    const rangeOk = checkBlockHeader(b, this.prevBlock, this.recent, this.ledger, this.size, this.nowMs, this.issues);
    this.blocksBySize.set(b.treeSize, { height: b.height, hash: b.hash, treeSize: b.treeSize, timestamp: b.timestamp });
    const lastTree = this.treeRoots.last();
    if (!this.stopped && b.treeSize <= this.size && b.treeSize >= this.position && (!lastTree || b.treeSize > lastTree.size)) {
      this.treeRoots.push({ size: b.treeSize, height: b.height, root: b.treeRoot });
    }
    const lastEvents = this.eventsRoots.last();
    if (rangeOk && !this.stopped && b.start >= this.position && (!lastEvents || b.start >= lastEvents.end)) {
      this.eventsRoots.push(eventsRootCheck(b.height, b.start, b.treeSize, b.eventsRoot));
    }
    this.prevBlock = b;
    this.recent.push({ timestamp: b.timestamp, difficulty: b.difficulty });
    if (this.recent.length > this.window) this.recent.shift();
    this.schedule();
  }

  /** The next checkpoint, in (tree size, id) order. */
  checkpoint(row: VerifyCheckpointRow): void {
    const head = checkCheckpointNote(row, this.ledger, this.verifierKeys, this.issues);
    if (!head) return;
    if (head.treeSize > this.size) {
      this.issues.checkpoint('CHECKPOINT_ROOT', head.id, `checkpoint ${head.id} signs a tree of ${head.treeSize} events, but the ledger has ${this.size}`);
      return;
    }
    const last = this.heads.last();
    if (!this.stopped && head.treeSize >= this.position && (!last || head.treeSize >= last.treeSize)) this.heads.push(head);
    this.schedule();
  }

  /** The next leaf (a stored event id, latin1). */
  leaf(id: string): void {
    const p = this.position;
    const block = this.eventsRoots.peek();
    const inBlock = block !== undefined && p >= block.start;
    this.tree.append(id, inBlock ? block.tap : -1);
    if (inBlock) {
      if (p >= block.chunkEnd) this.blockTail.append(id);
      else if ((p + 1 - block.start) % 2 ** block.tap === 0) this.blockRoot.append(this.tree.tapped);
      if (p + 1 === block.end) this.endBlock(block);
    }
    this.position = p + 1;
    if (this.position === this.nextAt) this.fire();
  }

  /** Runs the root checks due at the current size (one registered for the size already reached). */
  catchUp(): void {
    if (!this.stopped && this.position === this.nextAt) this.fire();
  }

  private endBlock(block: EventsRootCheck): void {
    const root = block.chunkEnd < block.end ? this.blockRoot.root(this.blockTail.root()) : this.blockRoot.root();
    if (root !== block.root.toString('latin1')) {
      this.issues.block(
        'BLOCK_EVENTS_ROOT',
        block.height,
        `block ${block.height}: events root ${block.root.toString('hex')} is not the root of its events [${block.start}, ${block.end}) (${hex(root)})`,
      );
    }
    this.eventsRoots.shift();
    this.blockRoot = new RootBuilder(this.h);
    this.blockTail = new RootBuilder(this.h);
  }

  private schedule(): void {
    const t = this.treeRoots.peek()?.size ?? Infinity;
    const c = this.heads.peek()?.treeSize ?? Infinity;
    this.nextAt = Math.min(t, c);
  }

  /** Every root check waiting for the current tree size. */
  private fire(): void {
    const s = this.position;
    const root = this.tree.root();
    for (let t = this.treeRoots.peek(); t && t.size <= s; this.treeRoots.shift(), t = this.treeRoots.peek()) {
      if (t.size === s && this.tree.judgeRoot(t.root, root) === 'bad') {
        this.issues.block('BLOCK_TREE_ROOT', t.height, `block ${t.height}: tree root ${t.root.toString('hex')} is not the root of the first ${s} events (${hex(root)})`);
      }
    }
    for (let h = this.heads.peek(); h && h.treeSize <= s; this.heads.shift(), h = this.heads.peek()) {
      if (h.treeSize === s) this.checkHead(h, root);
    }
    for (const size of this.blocksBySize.keys()) {
      if (size > s) break;
      this.blocksBySize.delete(size);
    }
    this.schedule();
  }

  /**
   * A checkpoint's root against the recomputed one. Consistency with the checkpoints before it
   * follows: a checkpoint that does not sign the ledger's root cannot be consistent with an
   * earlier one that does (same log, an append-only tree), and is reported as both.
   */
  private checkHead(h: SignedHead, root: string): void {
    const s = h.treeSize;
    checkCheckpointBlock(h, this.blocksBySize.get(s), this.issues);
    if (this.tree.judgeRoot(h.rootHash, root) !== 'bad') {
      this.lastGoodHead = h;
      return;
    }
    this.issues.checkpoint('CHECKPOINT_ROOT', h.id, `checkpoint ${h.id} signs root ${h.rootHash.toString('hex')} for ${s} events, but they give ${hex(root)}`);
    const good = this.lastGoodHead;
    if (good) {
      this.issues.checkpoint(
        'CHECKPOINT_INCONSISTENT',
        h.id,
        `checkpoint ${h.id} (size ${s}) is not consistent with checkpoint ${good.id} (size ${good.treeSize}): no append-only log has both roots and these events`,
      );
    }
  }
}
