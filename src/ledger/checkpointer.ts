import type { DataSource } from 'typeorm';
import { ChainproofError } from '../errors.js';
import type { BusTopic } from './bus.js';
import { CheckpointRow, type BlockRow, type LedgerRow } from './entities/index.js';
import { formatCheckpoint, signNote } from './note/index.js';
import { checkSignedBefore, type ServerKey } from './server-key.js';
import { announcing, type Announcer } from '../db/pg-listener.js';
import { isStorableText } from './events/envelope.js';

const MAX_TAGS = 32;
/** First key of the per-ledger advisory lock that orders checkpoint inserts (the second is the ledger id). */
const CHECKPOINT_LOCK_CLASS = 7235002;

/**
 * Signs tree heads at block boundaries as C2SP checkpoints. The note carries the block it
 * seals and the signing time as extension lines:
 *
 *     example.org/main
 *     4096
 *     <base64 root>
 *     block 7 <block hash hex>
 *     time 1732000000000
 *     hash blake3            (only for a BLAKE3 ledger)
 *     state <hex>            (where a domain keeps state on this ledger: its state root at this size)
 */
/** A checkpoint's name and tags (attacker-controlled), checked before anything is sealed or signed. */
export function checkCheckpointLabels(name: string | undefined, tags: readonly string[]): void {
  // Checked before anything is sealed or signed: PostgreSQL would refuse a NUL only at the insert.
  if (name !== undefined && (name.length === 0 || name.length > 128 || !isStorableText(name))) {
    throw new ChainproofError('BAD_USER_INPUT', 'checkpoint name must be 1..128 characters of text (no NUL)');
  }
  if (tags.length > MAX_TAGS || tags.some((t) => t.length === 0 || t.length > 64 || !isStorableText(t))) {
    throw new ChainproofError('BAD_USER_INPUT', `at most ${MAX_TAGS} tags of 1..64 characters of text (no NUL)`);
  }
}

/** The state root of projections kept on a ledger, as of a tree size (lowercase hex). */
export type StateRootProvider = (treeSize: number) => Promise<string>;

export class Checkpointer {
  private readonly stateRoots = new Map<string, StateRootProvider>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly key: ServerKey | undefined,
    private readonly notify: (ledger: LedgerRow, topic: BusTopic) => void,
    /** On PostgreSQL, what tells other processes: the statement that inserts a checkpoint does. */
    private readonly announcer?: Announcer,
  ) {}

  /** Checkpoints of `ledgerName` will carry `provider`'s state root. */
  addStateRoot(ledgerName: string, provider: StateRootProvider): void {
    this.stateRoots.set(ledgerName, provider);
  }

  get canSign(): boolean {
    return this.key !== undefined;
  }

  async create(ledger: LedgerRow, block: BlockRow, name?: string, tags: string[] = []): Promise<CheckpointRow> {
    return (await this.sign(ledger, block, name, tags))!;
  }

  /**
   * The checkpoint every `ledger.checkpointInterval` events, at `block`, unless one at most that
   * far behind it exists: decided under the lock that orders checkpoints, so processes that find
   * it due at once (one that sealed the block died before signing, say) sign it once.
   */
  createIfDue(ledger: LedgerRow, block: BlockRow): Promise<CheckpointRow | undefined> {
    return this.sign(ledger, block, undefined, [], ledger.checkpointInterval);
  }

  private async sign(ledger: LedgerRow, block: BlockRow, name: string | undefined, tags: string[], dueEvery?: number): Promise<CheckpointRow | undefined> {
    if (!this.key) {
      throw new ChainproofError(
        'SIGNING_KEY_MISSING',
        'no signing key configured: set CHAINPROOF_SIGNING_SEED or CHAINPROOF_SIGNING_KEY_FILE to create checkpoints',
      );
    }
    checkCheckpointLabels(name, tags);
    // Checked at start too (openServerKey); here as well, for two processes with different keys
    // that both started on a database nobody had signed yet.
    const [newest] = (await this.dataSource.query(`SELECT note FROM checkpoints WHERE ledger_id = $1 ORDER BY id DESC LIMIT 1`, [ledger.id])) as Array<{ note: string }>;
    if (newest) checkSignedBefore(this.key, newest.note);
    const timestampMs = Date.now();
    const state = await this.stateRoots.get(ledger.name)?.(block.treeSize);
    const body = formatCheckpoint({
      origin: ledger.origin,
      treeSize: block.treeSize,
      rootHash: block.treeRoot,
      extensions: [
        `block ${block.height} ${block.hash.toString('hex')}`,
        `time ${timestampMs}`,
        // C2SP roots are SHA-256; a BLAKE3 ledger says so, or verifiers would reject every proof.
        ...(ledger.hashAlg === 'sha256' ? [] : [`hash ${ledger.hashAlg}`]),
        ...(state === undefined ? [] : [`state ${state}`]),
      ],
    });
    const note = signNote(body, [this.key.note]);
    // Ids are cursors (paging, `after` replay, the live feed), so per ledger they must commit in
    // the order they are drawn: the lock, taken before the id and held until commit, keeps a
    // later id from committing first and a reader's cursor from passing one still to come.
    const tell = announcing(this.announcer, 'checkpoint', ledger.name, 9);
    const insert = (q: DataSource['query']) =>
      q(
        `WITH in_order AS (SELECT pg_advisory_xact_lock(${CHECKPOINT_LOCK_CLASS}, $1)),
           c AS (
             INSERT INTO checkpoints (ledger_id, tree_size, root_hash, block_height, timestamp_ms, name, tags, note)
             SELECT $1, $2::bigint, $3::bytea, $4::bigint, $5::bigint, $6::text, $7::text[], $8::text FROM in_order RETURNING id)
         SELECT id${tell.sql} FROM c`,
        [ledger.id, block.treeSize, block.treeRoot, block.height, timestampMs, name ?? null, tags, note,
          ...tell.params],
      ) as Promise<Array<{ id: string }>>;
    let due = true;
    try {
      const [row] =
        dueEvery === undefined
          ? await insert((sql, params) => this.dataSource.query(sql, params))
          : await this.dataSource.transaction(async (tx) => {
              // The lock first, then the look: a statement's snapshot predates the locks it takes.
              await tx.query(`SELECT pg_advisory_xact_lock(${CHECKPOINT_LOCK_CLASS}, $1)`, [ledger.id]);
              const [last] = await tx.query(`SELECT max(tree_size) AS size FROM checkpoints WHERE ledger_id = $1`, [ledger.id]);
              due = block.treeSize - Number(last?.size ?? 0) >= dueEvery;
              return due ? insert((sql, params) => tx.query(sql, params)) : [];
            });
      if (!row) return undefined;
      return await this.dataSource.getRepository(CheckpointRow).findOneByOrFail({ id: Number(row.id) });
    } finally {
      // Also when the insert's reply, or the read after it, failed: it may have committed, and
      // this process hears no NOTIFY of its own.
      if (due) this.notify(ledger, 'checkpoint');
    }
  }
}
