import type { DataSource, EntityManager } from 'typeorm';
import type { Config, LedgerDefaults } from '../config.js';
import { ChainproofError } from '../errors.js';
import { LedgerRow } from './entities/index.js';
import { LEDGER_NAME, LEDGER_NAME_RULE } from './ledger-name.js';
import { treeHasher, type HashAlg } from './merkle/index.js';

export type LedgerParams = LedgerDefaults;

export const MAX_DIFFICULTY = 32;

/**
 * The origin prefix of a server on this database: the one its ledgers were made under, which is
 * also its signing key's name, fixed for the log's life. Left unset, CHAINPROOF_ORIGIN defaults
 * to the host name, which a new container or a second host changes: the stored prefix wins.
 * Set, it must be the stored one.
 */
export async function settleOriginPrefix<C extends Pick<Config, 'originPrefix' | 'originGiven'>>(db: DataSource, config: C): Promise<C> {
  const [first] = (await db.query(`SELECT name, origin FROM ledgers ORDER BY id LIMIT 1`)) as Array<{ name: string; origin: string }>;
  if (!first?.origin.endsWith(`/${first.name}`)) return config;
  const stored = first.origin.slice(0, -(first.name.length + 1));
  if (stored === config.originPrefix) return config;
  if (!config.originGiven) return { ...config, originPrefix: stored };
  throw new ChainproofError(
    'CONFIG_INVALID',
    `CHAINPROOF_ORIGIN is ${JSON.stringify(config.originPrefix)} but this database's ledgers were made under ${JSON.stringify(stored)} (${first.origin}); a log keeps its origin, and its key's name, for life`,
  );
}

/**
 * Named ledgers. Their rows change rarely, so they are cached per process; a name this
 * process has not seen is looked up again (another process may have created it).
 */
export class LedgerRegistry {
  private readonly byName = new Map<string, LedgerRow>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly originPrefix: string,
    private readonly defaults: LedgerDefaults,
  ) {}

  async get(name: string): Promise<LedgerRow> {
    const cached = this.byName.get(name);
    if (cached) return cached;
    // No ledger is created under a name it refuses (attacker-controlled; a NUL would fail in SQL).
    if (!LEDGER_NAME.test(name)) throw new ChainproofError('UNKNOWN_LEDGER', `no ledger named ${JSON.stringify(name)}`);
    const row = await this.dataSource.getRepository(LedgerRow).findOneBy({ name });
    if (!row) throw new ChainproofError('UNKNOWN_LEDGER', `no ledger named ${JSON.stringify(name)}`);
    this.byName.set(name, row);
    return row;
  }

  /** Whether this process has seen a ledger of this name (no database look-up). */
  known(name: string): boolean {
    return this.byName.has(name);
  }

  /** Forgets a cached row (its parameters changed), so the next `get` reads it again. */
  forget(name: string): void {
    this.byName.delete(name);
  }

  async list(): Promise<LedgerRow[]> {
    const rows = await this.dataSource.getRepository(LedgerRow).find({ order: { id: 'ASC' } });
    for (const r of rows) this.byName.set(r.name, r);
    return rows;
  }

  /** Creates `main` on first start; a no-op afterwards. */
  async ensure(name: string): Promise<LedgerRow> {
    try {
      return await this.get(name);
    } catch (e) {
      if ((e as ChainproofError).code !== 'UNKNOWN_LEDGER') throw e;
      try {
        return await this.create(name, {});
      } catch (err) {
        // Another process created it between our look-up and insert.
        if ((err as ChainproofError).code === 'CONFLICT') return this.get(name);
        throw err;
      }
    }
  }

  async create(name: string, overrides: Partial<LedgerParams>): Promise<LedgerRow> {
    if (!LEDGER_NAME.test(name)) {
      throw new ChainproofError('BAD_USER_INPUT', LEDGER_NAME_RULE);
    }
    const p: LedgerParams = { ...this.defaults, ...stripUndefined(overrides) };
    checkParams(p);
    const origin = `${this.originPrefix}/${name}`;
    const emptyRoot = treeHasher(p.hashAlg).emptyRoot();
    return this.dataSource.transaction(async (tx) => {
      const exists = await tx.query(`SELECT 1 FROM ledgers WHERE name = $1 OR origin = $2`, [name, origin]);
      if (exists.length > 0) throw new ChainproofError('CONFLICT', `ledger ${JSON.stringify(name)} already exists`);
      const inserted: Array<{ id: number }> = await tx.query(
        `INSERT INTO ledgers (name, origin, hash_alg, block_size, max_block_interval_ms, min_difficulty, max_difficulty,
           initial_difficulty, target_block_ms, retarget_blocks, checkpoint_interval)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
         ON CONFLICT DO NOTHING RETURNING id`,
        [name, origin, p.hashAlg, p.blockSize, p.maxBlockIntervalMs, p.minDifficulty, p.maxDifficulty,
          p.initialDifficulty, p.targetBlockMs, p.retargetBlocks, p.checkpointInterval],
      );
      if (inserted.length === 0) throw new ChainproofError('CONFLICT', `ledger ${JSON.stringify(name)} already exists`);
      await tx.query(`INSERT INTO ledger_heads (ledger_id, root_hash) VALUES ($1, $2)`, [inserted[0]!.id, emptyRoot]);
      const row = await tx.getRepository(LedgerRow).findOneByOrFail({ id: inserted[0]!.id });
      this.byName.set(name, row);
      return row;
    });
  }
}

/** Parameters a running ledger may change; the hash algorithm and origin are fixed for its life. */
export type MutableLedgerParams = Partial<Pick<LedgerParams, 'blockSize' | 'maxBlockIntervalMs' | 'minDifficulty' | 'maxDifficulty' | 'targetBlockMs' | 'retargetBlocks' | 'checkpointInterval'>>;

const MUTABLE_COLUMNS: Record<keyof MutableLedgerParams, string> = {
  blockSize: 'block_size',
  maxBlockIntervalMs: 'max_block_interval_ms',
  minDifficulty: 'min_difficulty',
  maxDifficulty: 'max_difficulty',
  targetBlockMs: 'target_block_ms',
  retargetBlocks: 'retarget_blocks',
  checkpointInterval: 'checkpoint_interval',
};

/** The changeable parameters as `<column> AS "<name>"` of a `ledgers l` joined into another read. */
export const MUTABLE_PARAMS_SELECT = Object.entries(MUTABLE_COLUMNS).map(([name, column]) => `l.${column} AS "${name}"`).join(', ');

/** `row` with the changeable parameters a MUTABLE_PARAMS_SELECT read. */
export function withParams(row: LedgerRow, read: Record<string, unknown>): LedgerRow {
  const next = Object.assign(new LedgerRow(), row);
  for (const name of Object.keys(MUTABLE_COLUMNS) as Array<keyof MutableLedgerParams>) next[name] = Number(read[name]);
  return next;
}

export function paramsOf(row: LedgerRow): LedgerParams {
  return {
    hashAlg: row.hashAlg as HashAlg,
    blockSize: row.blockSize,
    maxBlockIntervalMs: row.maxBlockIntervalMs,
    minDifficulty: row.minDifficulty,
    maxDifficulty: row.maxDifficulty,
    initialDifficulty: row.initialDifficulty,
    targetBlockMs: row.targetBlockMs,
    retargetBlocks: row.retargetBlocks,
    checkpointInterval: row.checkpointInterval,
  };
}

/** Refuses a change that would leave the ledger's parameters out of range (BAD_USER_INPUT). */
export function checkChange(row: LedgerRow, patch: MutableLedgerParams): void {
  for (const k of Object.keys(patch)) {
    if (!(k in MUTABLE_COLUMNS)) throw new ChainproofError('BAD_USER_INPUT', `ledger parameter ${k} cannot be changed`);
  }
  checkParams({ ...paramsOf(row), ...stripUndefined(patch) });
}

/** Writes a checked change inside the caller's transaction. */
export async function updateParams(tx: EntityManager, ledgerName: string, patch: MutableLedgerParams): Promise<void> {
  const row = await tx.getRepository(LedgerRow).findOneBy({ name: ledgerName });
  if (!row) throw new ChainproofError('UNKNOWN_LEDGER', `no ledger named ${JSON.stringify(ledgerName)}`);
  checkChange(row, patch);
  const entries = Object.entries(stripUndefined(patch)) as Array<[keyof MutableLedgerParams, number]>;
  if (entries.length === 0) return;
  await tx.query(
    `UPDATE ledgers SET ${entries.map(([k], i) => `${MUTABLE_COLUMNS[k]} = $${i + 2}`).join(', ')} WHERE id = $1`,
    [row.id, ...entries.map(([, v]) => v)],
  );
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}

function checkParams(p: LedgerParams): void {
  const problems: string[] = [];
  const range = (name: keyof LedgerParams, min: number, max: number) => {
    const v = p[name] as number;
    if (!Number.isInteger(v) || v < min || v > max) problems.push(`${name} must be an integer in ${min}..${max}`);
  };
  if (!['sha256', 'blake3'].includes(p.hashAlg as HashAlg)) problems.push('hashAlg must be sha256 or blake3');
  range('blockSize', 1, 1_000_000);
  range('maxBlockIntervalMs', 50, 86_400_000);
  // Above ~32 bits a block takes hours on one core: the ledger would stop sealing.
  range('minDifficulty', 0, MAX_DIFFICULTY);
  range('maxDifficulty', 0, MAX_DIFFICULTY);
  range('initialDifficulty', 0, MAX_DIFFICULTY);
  range('targetBlockMs', 1, 86_400_000);
  range('retargetBlocks', 2, 1_000_000);
  range('checkpointInterval', 1, 1_000_000_000);
  if (p.minDifficulty > p.maxDifficulty) problems.push('minDifficulty exceeds maxDifficulty');
  if (problems.length) throw new ChainproofError('BAD_USER_INPUT', `bad ledger parameters: ${problems.join('; ')}`);
}
