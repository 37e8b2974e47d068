import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { boundedText } from '../bounded-body.js';
import { NO_REDIRECTS, redirectTarget } from '../redirect.js';
import type { CheckpointRow } from '../ledger/entities/index.js';
import type { LedgerService } from '../ledger/ledger-service.js';
import { openNote, parseCosignerKey, verifyCosignature, type CosignerKey } from '../ledger/note/index.js';

export interface Validator {
  url: string;
  vkey: string;
  key: CosignerKey;
}

export type Finality = 'FINAL' | 'PENDING';

/**
 * A validator holds a tree of this log that this log does not: it cosigned a larger tree than the
 * log now has (`behind`: the database was restored from an older backup, say), or it refuses the
 * log's tree as inconsistent with the one it cosigned (`fork`). Either way checkpoints already
 * published and this log disagree, and every event appended since makes the split view wider.
 * What a validator says is not authenticated, so this is an alarm for an operator, not a verdict.
 */
export interface Divergence {
  ledger: string;
  validator: string;
  kind: 'behind' | 'fork';
  /** The tree size the validator last cosigned, as it says. */
  validatorSize: number;
  /** This log's checkpoint it refused, or could not be offered against. */
  checkpointSize: number;
  detail: string;
}

/**
 * Cosignatures that make a checkpoint final among n validators, f = ⌊(n−1)/3⌋ of them faulty:
 * q = ⌈(n+f+1)/2⌉, so any two quorums share f+1 validators, one of them honest, who would not
 * cosign two forks; and q ≤ n−f, so the honest ones alone reach it. That is 2f+1 when n = 3f+1,
 * but not otherwise: 2f+1 of 2 or of 6 (1, 3) would let two disjoint sets finalise two forks.
 */
export const quorumOf = (n: number): number => {
  const f = Math.floor((n - 1) / 3);
  return Math.ceil((n + f + 1) / 2);
};

const SWEEP_MS = 2_000;
const REQUEST_TIMEOUT_MS = 5_000;
/** A validator answers with a few cosignature lines, or its tree size. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Collects cosignatures for this node's checkpoints from its validators (c2sp.org/tlog-witness
 * clients' side): each new checkpoint goes to every validator with a consistency proof from the
 * size that validator last cosigned; a 409 teaches that size and the request is retried once.
 * A sweep re-offers the latest checkpoint of each ledger to validators that have not cosigned
 * it (one was down, say). Only cosignatures that verify with the configured key are kept.
 */
export class CosignatureCollector {
  readonly validators: Validator[];
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private readonly live: Array<AsyncIterableIterator<CheckpointRow>> = [];
  /** By validator and ledger, while it lasts: a cosignature of a later checkpoint ends it. */
  private readonly diverged = new Map<string, Divergence>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
    validators: Array<{ url: string; vkey: string }>,
    private readonly log: Logger,
  ) {
    this.validators = validators.map((v) => ({ ...v, key: parseCosignerKey(v.vkey) }));
  }

  /** Offers each new checkpoint as it is signed, and sweeps for what failed or came from elsewhere. */
  async start(): Promise<void> {
    if (this.validators.length === 0) return;
    for (const l of await this.ledger.ledgers()) {
      const live = await this.ledger.subscribe('checkpoint', l.name);
      this.live.push(live);
      void (async () => {
        for await (const c of live) await Promise.all(this.validators.map((v) => this.offer(l.name, l.origin, c, v)));
      })().catch((err) => this.log.warn({ err }, 'checkpoint feed for cosigning stopped; the sweep continues'));
    }
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = undefined));
    }, SWEEP_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const l of this.live) void l.return?.();
    await this.sweeping;
  }

  /** Offers the latest checkpoint of every ledger to each validator that has not cosigned it. */
  async sweep(): Promise<void> {
    for (const l of await this.ledger.ledgers()) {
      const c = await this.ledger.checkpoint(l.name);
      if (!c) continue;
      const have = new Set((await this.lines(c.id)).map((r) => r.witness));
      await Promise.all(this.validators.filter((v) => !have.has(v.vkey)).map((v) => this.offer(l.name, l.origin, c, v)));
    }
  }

  private async offer(ledgerName: string, origin: string, c: CheckpointRow, v: Validator): Promise<void> {
    try {
      const [p] = await this.dataSource.query(`SELECT tree_size FROM validator_progress WHERE witness = $1 AND origin = $2`, [v.vkey, origin]);
      let old = Number(p?.tree_size ?? 0);
      for (let attempt = 0; attempt < 2; attempt++) {
        if (old > c.treeSize) return; // it has cosigned a later checkpoint already
        const proof = old === 0 || old === c.treeSize ? [] : (await this.ledger.consistencyProof(ledgerName, old, c.treeSize)).hashes;
        const body = `old ${old}\n${proof.map((h) => `${Buffer.from(h, 'hex').toString('base64')}\n`).join('')}\n${c.note}`;
        const res = await fetch(`${v.url}/witness/add-checkpoint`, { method: 'POST', body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), redirect: NO_REDIRECTS });
        const to = await redirectTarget(res);
        if (to !== undefined) {
          this.log.warn({ witness: v.url, status: res.status, treeSize: c.treeSize }, `validator answered with a redirect to ${to}: configure it by the URL it answers at`);
          return;
        }
        const text = await boundedText(res, MAX_ANSWER_BYTES);
        if (text === undefined) {
          this.log.warn({ witness: v.url, treeSize: c.treeSize }, `validator answered with more than ${MAX_ANSWER_BYTES} bytes`);
          return;
        }
        if (res.status === 409 && res.headers.get('content-type') === 'text/x.tlog.size' && /^\d+\n$/.test(text)) {
          old = Number(text.trim());
          if (old > c.treeSize && old > (await this.ledger.head(ledgerName)).treeSize) {
            return this.diverge(v, { ledger: ledgerName, kind: 'behind', validatorSize: old, checkpointSize: c.treeSize, detail: `it cosigned tree size ${old}, larger than this log` });
          }
          continue;
        }
        if (res.status === 409 || res.status === 422) {
          return this.diverge(v, { ledger: ledgerName, kind: 'fork', validatorSize: old, checkpointSize: c.treeSize, detail: text.trim().slice(0, 200) });
        }
        if (res.status !== 200) {
          this.log.warn({ witness: v.url, status: res.status, treeSize: c.treeSize }, `validator refused the checkpoint: ${text.trim().slice(0, 200)}`);
          return;
        }
        const cosigned = openNote(c.note).text;
        const line = text.split('\n').find((l) => l && verifyCosignature(cosigned, l, v.key));
        if (!line) {
          this.log.warn({ witness: v.url }, 'validator answered without a valid cosignature from its configured key');
          return;
        }
        this.diverged.delete(`${v.vkey} ${ledgerName}`);
        await this.dataSource.transaction(async (tx) => {
          await tx.query(`INSERT INTO checkpoint_cosignatures (checkpoint_id, witness, line) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [c.id, v.vkey, `${line}\n`]);
          await tx.query(
            `INSERT INTO validator_progress (witness, origin, tree_size) VALUES ($1, $2, $3)
             ON CONFLICT (witness, origin) DO UPDATE SET tree_size = greatest(validator_progress.tree_size, EXCLUDED.tree_size)`,
            [v.vkey, origin, c.treeSize],
          );
        });
        return;
      }
    } catch (err) {
      this.log.debug({ err, witness: v.url }, 'validator unreachable; the sweep retries');
    }
  }

  /** Where a validator holds a tree of a ledger that this log does not (see Divergence). */
  divergences(): Divergence[] {
    return [...this.diverged.values()];
  }

  /** Logged when it starts or changes, not at every sweep. */
  private diverge(v: Validator, d: Omit<Divergence, 'validator'>): void {
    const key = `${v.vkey} ${d.ledger}`;
    const before = this.diverged.get(key);
    const divergence = { ...d, validator: v.url };
    this.diverged.set(key, divergence);
    if (before?.kind === d.kind && before.validatorSize === d.validatorSize) return;
    this.log.error(
      divergence,
      d.kind === 'behind'
        ? `validator ${v.url} cosigned ${d.ledger} at tree size ${d.validatorSize}, beyond this log: events it saw are gone (restored from an older backup?); appends now fork the published log`
        : `validator ${v.url} refuses ${d.ledger}'s checkpoint of size ${d.checkpointSize} as inconsistent with the tree it cosigned: this log forked from the published one`,
    );
  }

  /** The stored cosignature lines of a checkpoint, from currently configured validators only. */
  async lines(checkpointId: number): Promise<Array<{ witness: string; line: string; cosignedAt: Date }>> {
    const rows = await this.dataSource.query(
      `SELECT witness, line, cosigned_at FROM checkpoint_cosignatures WHERE checkpoint_id = $1 ORDER BY witness`,
      [checkpointId],
    );
    const configured = new Set(this.validators.map((v) => v.vkey));
    return rows.filter((r: { witness: string }) => configured.has(r.witness)).map((r: any) => ({ witness: r.witness, line: r.line, cosignedAt: r.cosigned_at }));
  }

  /** Finality given how many configured validators cosigned. */
  finalityOf(cosignatures: number): Finality {
    return this.validators.length > 0 && cosignatures >= quorumOf(this.validators.length) ? 'FINAL' : 'PENDING';
  }
}
