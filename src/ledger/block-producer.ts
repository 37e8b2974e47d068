import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { LedgerMetrics } from './metrics.js';
import type { Checkpointer } from './checkpointer.js';
import { BlockRow, type LedgerRow } from './entities/index.js';
import { GENESIS_PREVIOUS_HASH, nextDifficulty, retargetWindow, type Miner } from './blocks/index.js';
import { rootAt, subtreeRoot, treeHasher } from './merkle/index.js';
import { storedTree } from './tree-store.js';
import { MUTABLE_PARAMS_SELECT, withParams } from './ledgers.js';
import { announcing, type Announcer } from '../db/pg-listener.js';
import { ChainproofError } from '../errors.js';

const SEAL_NOW_TIMEOUT_MS = 60_000;

/**
 * Seals a ledger's events into blocks and mines them, off the request path: appends only
 * nudge it. A block takes `blockSize` pending events, or fewer once the oldest pending event
 * has waited `maxBlockIntervalMs`. Several server processes may race for the same height;
 * the primary key lets exactly one block in and the others move on.
 */
export class BlockProducer {
  private running: Promise<void> | undefined;
  private again = false;
  private forceUpTo = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private stopped = false;
  private lastError: Error | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private ledger: LedgerRow,
    private readonly miner: Miner,
    /** A block was sealed and committed; or, called without it, may have been (its insert's reply was lost). */
    private readonly sealed: (ledger: LedgerRow, blocks?: BlockRow[]) => void,
    private readonly checkpointer: Checkpointer,
    private readonly log: Logger,
    private readonly metrics: LedgerMetrics,
    /** On PostgreSQL, what tells other processes: the statement that inserts a block does, so a crash after its commit cannot keep it from them. */
    private readonly announcer?: Announcer,
  ) {}

  /** The last block whose checkpoint, if due, is known signed: idle passes look once per block, not every tick. */
  private dueCheckedAt = -1;
  /** The block being mined: its difficulty, and how to give it up. */
  private mining: { difficulty: number; abandon: AbortController } | undefined;

  start(): void {
    const period = Math.max(50, Math.min(250, Math.floor(this.ledger.maxBlockIntervalMs / 2)));
    this.timer = setInterval(() => this.nudge(), period);
    this.timer.unref();
    this.nudge();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.abort.abort();
    await this.running?.catch(() => undefined);
    await this.miner.close();
  }

  /**
   * The ledger's parameters changed: the next block is sealed under the new ones, and a block
   * being mined at a difficulty they no longer allow is given up (a minimum raised by mistake to
   * hours of work a block, then lowered again, must not hold the ledger for those hours).
   */
  useParameters(row: LedgerRow): void {
    this.ledger = row;
    const d = this.mining?.difficulty;
    if (d !== undefined && (d < row.minDifficulty || d > row.maxDifficulty)) this.mining!.abandon.abort(new ParametersChanged());
  }

  /** Something was appended (or time passed): seal what is due. */
  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.nudge();
      }
    });
  }

  /** Seals every event appended so far, whether or not a block is due, and waits for it. */
  async sealNow(timeoutMs = SEAL_NOW_TIMEOUT_MS): Promise<void> {
    const [head] = await this.dataSource.query(`SELECT tree_size FROM ledger_heads WHERE ledger_id = $1`, [this.ledger.id]);
    const target = Number(head.tree_size);
    this.forceUpTo = Math.max(this.forceUpTo, target);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const last = await this.lastBlock();
      if ((last?.treeSize ?? 0) >= target) return;
      if (this.stopped) throw new ChainproofError('UNAVAILABLE', 'the server is shutting down');
      if (Date.now() > deadline) {
        throw new ChainproofError(
          'UNAVAILABLE',
          `blocks up to tree size ${target} are not mined after ${timeoutMs} ms` +
            (this.lastError ? ` (last error: ${this.lastError.message})` : '; mining is behind, try again'),
        );
      }
      this.nudge();
      await Promise.race([this.running, new Promise((r) => setTimeout(r, 50))]);
    }
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopped && (await this.sealOne())) {
        /* keep sealing while blocks are due */
      }
      this.lastError = undefined;
    } catch (e) {
      this.lastError = e as Error;
      if (!this.stopped) this.log.error({ err: e, ledger: this.ledger.name }, 'block production failed; will retry');
    }
  }

  private lastBlock(): Promise<BlockRow | null> {
    return this.dataSource.getRepository(BlockRow).findOne({ where: { ledgerId: this.ledger.id }, order: { height: 'DESC' } });
  }

  /** Seals and mines one block if one is due; true if it did. */
  private async sealOne(): Promise<boolean> {
    // One statement on the passes that find nothing due, which are most (a pass follows every
    // commit): the head, the end of the last block, when its first pending event was appended,
    // and the parameters as committed — a change's notification may never have come (the process
    // that made it died first, or this one's LISTEN connection was down).
    const [head] = await this.dataSource.query(
      `SELECT h.tree_size, ${MUTABLE_PARAMS_SELECT}, b.height AS last_height, b.tree_size AS last_size,
              (SELECT e.appended_at FROM events e WHERE e.ledger_id = h.ledger_id AND e.idx = coalesce(b.tree_size, 0)) AS first_pending_at
         FROM ledger_heads h JOIN ledgers l ON l.id = h.ledger_id
         LEFT JOIN LATERAL (SELECT height, tree_size FROM blocks WHERE ledger_id = h.ledger_id ORDER BY height DESC LIMIT 1) b ON true
        WHERE h.ledger_id = $1`,
      [this.ledger.id],
    );
    const ledger = (this.ledger = withParams(this.ledger, head));
    const start = head.last_size === null ? 0 : Number(head.last_size);
    const pending = Number(head.tree_size) - start;
    if (pending <= 0) {
      // A checkpoint due at the last block is signed by whoever sealed it, unless that process died first.
      if (head.last_height !== null && Number(head.last_height) !== this.dueCheckedAt) {
        const last = await this.lastBlock();
        if (last) await this.checkpointIfDue(last);
        this.dueCheckedAt = Number(head.last_height);
      }
      return false;
    }
    if (pending < ledger.blockSize && this.forceUpTo <= start) {
      if (Date.now() - new Date(head.first_pending_at).getTime() < ledger.maxBlockIntervalMs) return false;
    }
    const last = await this.lastBlock();
    // Another process sealed a block since the look above: look again.
    if ((last?.treeSize ?? 0) !== start) return true;
    const end = start + Math.min(pending, ledger.blockSize);
    const height = (last?.height ?? -1) + 1;
    const hasher = treeHasher(ledger.hashAlg);
    const tree = storedTree(this.dataSource, ledger.id);
    const [eventsRoot, treeRoot] = await Promise.all([subtreeRoot(tree, hasher, start, end), rootAt(tree, hasher, end)]);
    const template = {
      height,
      previousHash: last ? last.hash.toString('hex') : GENESIS_PREVIOUS_HASH,
      eventsRoot: eventsRoot.toString('hex'),
      treeSize: end,
      treeRoot: treeRoot.toString('hex'),
      timestamp: Math.max(Date.now(), last?.timestampMs ?? 0),
      difficulty: nextDifficulty(ledger, height, await this.retargetHistory(ledger, height)),
    };
    const started = performance.now();
    const job = { difficulty: template.difficulty, abandon: new AbortController() };
    this.mining = job;
    let mined;
    try {
      mined = await this.miner.mine(template, AbortSignal.any([this.abort.signal, job.abandon.signal]));
    } catch (e) {
      if (e instanceof ParametersChanged) return true; // sealed again, under the new parameters
      throw e;
    } finally {
      this.mining = undefined;
    }
    const { nonce, hash } = mined;
    const miningMs = Math.round(performance.now() - started);
    this.metrics.mined(ledger.name, template.difficulty, miningMs / 1000);
    const block = Object.assign(new BlockRow(), {
      ledgerId: ledger.id,
      height,
      hash: Buffer.from(hash, 'hex'),
      previousHash: Buffer.from(template.previousHash, 'hex'),
      eventsRoot,
      startIndex: start,
      treeSize: end,
      treeRoot,
      timestampMs: template.timestamp,
      difficulty: template.difficulty,
      nonce,
      miningMs,
      // The settings the difficulty was computed under: governance may change them later, and a verifier judges each block by its own.
      minDifficulty: ledger.minDifficulty,
      maxDifficulty: ledger.maxDifficulty,
      targetBlockMs: ledger.targetBlockMs,
      retargetBlocks: ledger.retargetBlocks,
    });
    const tell = announcing(this.announcer, 'block', ledger.name, 17);
    const inserted = await this.dataSource.query<Array<{ mined_at: Date }>>(
      `WITH b AS (
         INSERT INTO blocks (ledger_id, height, hash, previous_hash, events_root, start_index, tree_size, tree_root,
           timestamp_ms, difficulty, nonce, mining_ms, min_difficulty, max_difficulty, target_block_ms, retarget_blocks)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16) ON CONFLICT DO NOTHING RETURNING mined_at)
       SELECT mined_at${tell.sql} FROM b`,
      [block.ledgerId, block.height, block.hash, block.previousHash, block.eventsRoot, block.startIndex, block.treeSize,
        block.treeRoot, block.timestampMs, block.difficulty, block.nonce, block.miningMs,
        block.minDifficulty, block.maxDifficulty, block.targetBlockMs, block.retargetBlocks,
        ...tell.params],
    ).catch((e: unknown) => {
      // The insert may have committed all the same: this process hears no NOTIFY of its own.
      this.sealed(ledger);
      throw e;
    });
    if (inserted.length === 0) return true; // another process sealed this height first
    block.minedAt = inserted[0]!.mined_at;
    this.sealed(ledger, [block]);
    await this.checkpointIfDue(block);
    return true;
  }

  private async retargetHistory(ledger: LedgerRow, height: number): Promise<Array<{ timestamp: number; difficulty: number }>> {
    const window = retargetWindow(ledger, height);
    if (!window) return [];
    const rows: Array<{ timestamp_ms: string; difficulty: number }> = await this.dataSource.query(
      `SELECT timestamp_ms, difficulty FROM blocks WHERE ledger_id = $1 AND height >= $2 AND height <= $3 ORDER BY height`,
      [ledger.id, window.from, window.to],
    );
    return rows.map((r) => ({ timestamp: Number(r.timestamp_ms), difficulty: r.difficulty }));
  }

  private async checkpointIfDue(block: BlockRow): Promise<void> {
    if (!this.checkpointer.canSign) return;
    // Looked at first without the lock: on most passes nothing is due.
    const [last] = await this.dataSource.query(
      `SELECT max(tree_size) AS size FROM checkpoints WHERE ledger_id = $1`,
      [this.ledger.id],
    );
    if (block.treeSize - Number(last?.size ?? 0) >= this.ledger.checkpointInterval) {
      await this.checkpointer.createIfDue(this.ledger, block);
    }
  }
}

/** Why a block being mined was given up: the parameters it was mined under changed. */
class ParametersChanged extends Error {
  constructor() {
    super('the ledger\'s difficulty bounds changed while this block was mined');
  }
}
