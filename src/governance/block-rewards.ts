import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { BlockRow } from '../ledger/entities/index.js';
import type { LedgerService } from '../ledger/ledger-service.js';
import { encodeCursor } from '../ledger/pagination.js';
import { GOVERNANCE_SUBSYSTEM, type DerivedEvents } from './events.js';

/** The reward mint's idempotency key prefix, reserved for the server (LedgerService.reserveIdempotencyKeys). */
export const REWARD_KEY = 'block-reward:';
/** Events of a block looked at at once: a block with activity is usually told by its first few, so a whole block is not read and traced for it. */
const CHUNK = 100;

/**
 * Mints the block reward of each mined block of the governance ledger to the server's miner
 * identity (its did:key). Exactly once per block, across restarts and processes: the mint
 * carries the idempotency key `block-reward:<height>`, and `gov_reward_cursor` is only where
 * to resume (after the height it holds; with no row, at the first block). A block holding
 * nothing but reward mints, and what they set off (a contract's firing on a mint, and what that
 * firing set off in turn), earns none, or an idle ledger would mint, seal and reward forever.
 */
export class BlockRewards {
  private iterator: AsyncIterableIterator<BlockRow> | undefined;
  private inFlight: Promise<boolean> | undefined;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
    private readonly ledgerName: string,
    private readonly defaultReward: bigint,
    private readonly mint: (to: string, amount: string, reason: string, source: string, idempotencyKey: string) => Promise<unknown>,
    private readonly derived: () => DerivedEvents | undefined,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const miner = this.ledger.serverKey?.did;
    if (!miner) return;
    const [row] = await this.dataSource.query(`SELECT rewarded_height FROM gov_reward_cursor WHERE ledger = $1`, [this.ledgerName]);
    if (row) {
      this.iterator = await this.subscribeAfter(Number(row.rewarded_height));
      void this.loop(miner);
      return;
    }
    // Nothing rewarded yet, so every block is owed, from the first: block producers start before
    // this and may have sealed some. Listening before looking, a first block sealed meanwhile is
    // either heard or seen.
    const live = await this.ledger.subscribe('block', this.ledgerName);
    const first = (await this.ledger.blocks(this.ledgerName, { first: 1 })).items[0]?.node;
    if (first) void live.return?.();
    this.iterator = first ? await this.subscribeAfter(first.height) : live;
    void this.loop(miner, first);
  }

  private subscribeAfter(height: number): Promise<AsyncIterableIterator<BlockRow>> {
    return this.ledger.subscribe('block', this.ledgerName, { after: encodeCursor('block', height, this.ledgerName) });
  }

  /**
   * Stops taking blocks and waits for a mint in flight. The subscription is not awaited: it
   * ends at its next message, which may never come.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    void this.iterator?.return?.();
    await this.inFlight;
  }

  /** Rewards `first`, if given, then each block the subscription brings. */
  private async loop(miner: string, first?: BlockRow): Promise<void> {
    try {
      if (first && !(await this.rewardInTurn(first, miner))) {
        void this.iterator!.return?.();
        return;
      }
      for await (const block of this.iterator!) {
        if (!(await this.rewardInTurn(block, miner))) break;
      }
    } catch (err) {
      this.log.warn({ err }, 'block rewards stopped');
    }
  }

  /** Whether to go on: not once stopped, nor once a block's reward has failed for good. */
  private rewardInTurn(block: BlockRow, miner: string): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    this.inFlight = this.rewardWithRetries(block, miner);
    return this.inFlight;
  }

  /**
   * The cursor must not pass a block whose reward failed: retry a few times, then stop (the
   * next start resumes at that block).
   */
  private async rewardWithRetries(block: BlockRow, miner: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.reward(block, miner);
        return true;
      } catch (err) {
        if (attempt === 5 || this.stopped) {
          this.log.error({ err, height: block.height }, 'block rewards stopped at this block; they resume from it on restart');
          return false;
        }
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  private async reward(block: BlockRow, miner: string): Promise<void> {
    // Configuration sets the reward until a proposal does.
    const [r] = await this.dataSource.query(`SELECT reward FROM gov_ledger_rewards WHERE ledger = $1`, [this.ledgerName]);
    const amount = r ? BigInt(r.reward) : this.defaultReward;
    if (amount > 0n && (await this.earnsReward(block))) {
      await this.mint(miner, amount.toString(), `block reward`, `block:${block.height}:${block.hash.toString('hex')}`, `${REWARD_KEY}${block.height}`);
    }
    await this.dataSource.query(
      `INSERT INTO gov_reward_cursor (ledger, rewarded_height) VALUES ($1, $2)
       ON CONFLICT (ledger) DO UPDATE SET rewarded_height = greatest(gov_reward_cursor.rewarded_height, EXCLUDED.rewarded_height)`,
      [this.ledgerName, block.height],
    );
  }

  /**
   * Whether some event of the block is activity: not a reward mint, and not derived (by another
   * domain) from events that all lead back to reward mints. Causes precede what they cause, so
   * walking up from the block ends.
   */
  private async earnsReward(block: BlockRow): Promise<boolean> {
    const derived = this.derived();
    let causes = new Set<number>();
    const someActivity = async (indices: number[]): Promise<boolean> => {
      if (indices.length === 0) return false;
      const found = derived ? await derived.causes(block.ledgerId, indices) : new Map<number, number>();
      if (indices.some((i) => !found.has(i))) return true;
      for (const c of found.values()) causes.add(c);
      return false;
    };
    for (let from = block.startIndex; from < block.treeSize; from += CHUNK) {
      if (await someActivity(await this.notRewards(block.ledgerId, `idx >= $4 AND idx < $5`, [from, Math.min(from + CHUNK, block.treeSize)]))) return true;
    }
    while (causes.size > 0) {
      const up = [...causes];
      causes = new Set();
      if (await someActivity(await this.notRewards(block.ledgerId, `idx = ANY($4::bigint[])`, [up]))) return true;
    }
    return false;
  }

  /** The indices of the events selected by `where` (its parameters from $4) that are not reward mints. */
  private async notRewards(ledgerId: number, where: string, params: unknown[]): Promise<number[]> {
    const rows: Array<{ idx: string }> = await this.dataSource.query(
      `SELECT idx FROM events WHERE ledger_id = $1 AND ${where}
          AND NOT (subsystem IS NOT DISTINCT FROM $2 AND idempotency_key IS NOT NULL AND starts_with(idempotency_key, $3))`,
      [ledgerId, GOVERNANCE_SUBSYSTEM, REWARD_KEY, ...params],
    );
    return rows.map((r) => Number(r.idx));
  }
}
