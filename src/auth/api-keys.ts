import { createHash, randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { ChainproofError, isChainproofError } from '../errors.js';
import { isStorableText, MAX_TEXT_FIELD } from '../ledger/events/envelope.js';
import type { LedgerService } from '../ledger/ledger-service.js';
import { RecentMap } from '../recent-map.js';
import { grants, isRole, type Principal, type Role } from './roles.js';

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: Role;
  /** The agents whose query audits the key may record; null: any agent's. */
  agents: string[] | null;
  createdBy: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** What a key (or a registered DID) may do beyond its role. */
export interface KeyScope {
  /** Binds the credential to these agents: it records query audits for them alone. */
  agents?: readonly string[];
}

/** Most agents one credential may be bound to: one per agent is the intended use, a few for a shared runner. */
export const MAX_KEY_AGENTS = 64;

/** The distinct agent ids of a scope, or null for an unbound credential. `agents` is the admin's input. */
export function agentScope(role: Role, agents: readonly string[] | undefined): string[] | null {
  if (agents === undefined) return null;
  if (!Array.isArray(agents) || agents.length === 0 || agents.length > MAX_KEY_AGENTS) {
    throw new ChainproofError('BAD_USER_INPUT', `agents must list 1..${MAX_KEY_AGENTS} agent ids (leave it out for a credential that may record any agent's audits)`);
  }
  if (!grants(role, 'writer')) {
    throw new ChainproofError('BAD_USER_INPUT', `agents bind a credential that records query audits; a ${role} records none`);
  }
  for (const a of agents) {
    if (typeof a !== 'string' || a.length === 0 || a.length > MAX_TEXT_FIELD || !isStorableText(a)) {
      throw new ChainproofError('BAD_USER_INPUT', `each agent id must be 1..${MAX_TEXT_FIELD} characters of well-formed Unicode without NUL`);
    }
  }
  return [...new Set(agents)];
}

/**
 * Administrative events live in their own ledger, created at first start beside `main`, so
 * clients' ledgers hold only their own events. The projection table is `api_keys`.
 */
export const SYSTEM_LEDGER = 'system';
const AUTH_LEDGER = SYSTEM_LEDGER;
/** The subsystem of key and DID administration events. */
export const AUTH_SUBSYSTEM = 'auth';

/**
 * Only the server writes the record of who may do what: a client's `ApiKeyCreated` there, even
 * unsigned, would read as an admin key made. The ledger is reserved, not the subsystem: clients'
 * own events in their ledgers may well be about `auth` (logins, say).
 */
export function reserveAuthRecords(ledger: LedgerService): void {
  ledger.reserveLedger(SYSTEM_LEDGER);
}
const KEY_PREFIX = 'cpk_';
/** A fresh random 256-bit key, as `create` makes. */
export const newApiKey = (): string => `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$/;
/**
 * A key's name is the account it acts as, and the server writes under accounts of its own:
 * `rules` (the contract engine, exempt from the proposal threshold), `chainproof` (block
 * rewards, bootstrap), `contract:<id>` (a contract's mints and events), DIDs (the miner's
 * did:key) and `anonymous`. A key named like one of them would act as it.
 */
const RESERVED_NAMES = new Set(['rules', 'chainproof', 'anonymous']);
const RESERVED_PREFIXES = ['contract:', 'did:'];

/** Whether `name` is (or, differing only in case, could be taken for) an identity the server itself acts as. */
export function isReservedAccountName(name: string): boolean {
  const n = name.toLowerCase();
  return RESERVED_NAMES.has(n) || RESERVED_PREFIXES.some((p) => n.startsWith(p));
}
/** How long a key look-up is trusted; a revocation elsewhere takes effect within this. */
const CACHE_MS = 5_000;

const hashKey = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/**
 * API keys as ledger events (`ApiKeyCreated`, `ApiKeyRevoked`) projected into `api_keys`.
 * Keys are random 256-bit secrets; only their SHA-256 is stored or logged anywhere.
 */
export class ApiKeyService {
  // A flood of made-up keys pushes out the oldest look-ups, not the keys in use.
  private readonly cache = new RecentMap<string, { principal: Principal | null; at: number }>(10_000);
  /** Moves on each revocation here: a look-up that read the key before the revocation committed must not cache it as valid. */
  private revocations = 0;
  private readonly revokeListeners = new Set<() => void>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
  ) {
    reserveAuthRecords(ledger);
  }

  /** Makes a new key. The returned `key` is shown once and cannot be recovered. */
  async create(name: string, role: string, createdBy: string, scope: KeyScope = {}): Promise<{ key: string; record: ApiKeyRecord }> {
    const key = newApiKey();
    return { key, record: await this.register(name, role, key, createdBy, scope) };
  }

  /** Registers a key the caller chose (the bootstrap admin key of an automated deployment). */
  async register(name: string, role: string, key: string, createdBy: string, scope: KeyScope = {}): Promise<ApiKeyRecord> {
    if (!KEY_NAME.test(name)) {
      throw new ChainproofError('BAD_USER_INPUT', 'key name must be 1..64 of letters, digits and . _ @ : -, starting with a letter or digit');
    }
    if (/^key_/i.test(name)) {
      throw new ChainproofError('BAD_USER_INPUT', 'key names starting with key_ are taken for key ids (revokeApiKey takes either)');
    }
    if (isReservedAccountName(name)) {
      throw new ChainproofError('BAD_USER_INPUT', `key name ${JSON.stringify(name)} is reserved: rules, chainproof, anonymous, contract:… and did:… are the server's own identities`);
    }
    if (!isRole(role)) throw new ChainproofError('BAD_USER_INPUT', `role must be one of reader, writer, governor, admin, validator`);
    if (key.length < 32) throw new ChainproofError('BAD_USER_INPUT', 'an API key must be at least 32 characters');
    const agents = agentScope(role, scope.agents);
    const id = `key_${randomBytes(6).toString('hex')}`;
    const keyHash = hashKey(key);
    const [event] = await this.ledger.append(
      AUTH_LEDGER,
      [{ type: 'ApiKeyCreated', actor: createdBy, subsystem: AUTH_SUBSYSTEM, resource: `apikey/${id}`, payload: { id, name, role, keyHash: keyHash.toString('hex'), ...(agents ? { agents } : {}) } }],
      {
        internal: true,
        projection: async (tx, [e]) => {
          const taken = await tx.query(`SELECT 1 FROM api_keys WHERE (name = $1 AND revoked_at IS NULL) OR key_hash = $2`, [name, keyHash]);
          if (taken.length > 0) throw new ChainproofError('CONFLICT', `an active key named ${JSON.stringify(name)} (or this very key) exists`);
          await tx.query(
            `INSERT INTO api_keys (id, name, role, key_hash, created_by, created_at, created_event, agents) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
            [id, name, role, keyHash, createdBy, e!.appendedAt, Buffer.from(e!.id, 'hex'), agents],
          );
        },
      },
    );
    return { id, name, role, agents, createdBy, createdAt: event!.appendedAt, revokedAt: null };
  }

  async list(): Promise<ApiKeyRecord[]> {
    const rows: Array<Record<string, any>> = await this.dataSource.query(
      `SELECT id, name, role, agents, created_by, created_at, revoked_at FROM api_keys ORDER BY created_at, id`,
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      role: r.role,
      agents: r.agents,
      createdBy: r.created_by,
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
    }));
  }

  /** Revokes an active key by id or name. */
  async revoke(idOrName: string, revokedBy: string): Promise<ApiKeyRecord> {
    // An id before a name: a key named like another key's id (made before such names were refused) is not revoked in its stead.
    const [row] = await this.dataSource.query(
      `SELECT id FROM api_keys WHERE (id = $1 OR name = $1) AND revoked_at IS NULL ORDER BY (id = $1) DESC LIMIT 1`,
      [idOrName],
    );
    if (!row) throw new ChainproofError('NOT_FOUND', `no active API key ${JSON.stringify(idOrName)}`);
    const id: string = row.id;
    await this.ledger.append(AUTH_LEDGER, [{ type: 'ApiKeyRevoked', actor: revokedBy, subsystem: AUTH_SUBSYSTEM, resource: `apikey/${id}`, payload: { id } }], {
      internal: true,
      projection: async (tx: EntityManager, [e]) => {
        const done = await tx.query(
          `UPDATE api_keys SET revoked_at = $2, revoked_event = $3 WHERE id = $1 AND revoked_at IS NULL RETURNING id`,
          [id, e!.appendedAt, Buffer.from(e!.id, 'hex')],
        );
        // TypeORM answers an UPDATE … RETURNING with [rows, affected].
        const rows: unknown[] = Array.isArray(done[0]) ? done[0] : done;
        if (rows.length === 0) {
          throw new ChainproofError('CONFLICT', `API key ${id} was revoked already`);
        }
      },
    });
    this.revocations++;
    this.cache.clear();
    for (const listener of this.revokeListeners) listener();
    return (await this.list()).find((k) => k.id === id)!;
  }

  /** Calls `listener` after each revocation this process commits (open sockets recheck their keys at once). Returns the unsubscribe. */
  onRevoke(listener: () => void): () => void {
    this.revokeListeners.add(listener);
    return () => void this.revokeListeners.delete(listener);
  }

  /**
   * The principal a presented key stands for, or null if it is unknown or revoked, as known at
   * most `maxAgeMs` ago (0: asked of the database now). `key` is attacker-controlled.
   */
  async authenticate(key: string, maxAgeMs = CACHE_MS): Promise<Principal | null> {
    if (!key.startsWith(KEY_PREFIX) && key.length < 32) return null;
    const hash = hashKey(key).toString('hex');
    const hit = this.cache.get(hash);
    if (hit && Date.now() - hit.at < Math.min(maxAgeMs, CACHE_MS)) return hit.principal;
    const revocations = this.revocations;
    const [row] = await this.dataSource.query(
      `SELECT id, name, role, agents FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [Buffer.from(hash, 'hex')],
    );
    // A key made before its name was reserved would act as the server's own identity: refused like a revoked one.
    const principal: Principal | null = row && !isReservedAccountName(row.name)
      ? { kind: 'api-key', account: row.name, role: row.role, keyId: row.id, ...(row.agents ? { agents: row.agents } : {}) }
      : null;
    if (revocations === this.revocations) this.cache.set(hash, { principal, at: Date.now() });
    return principal;
  }

  async count(): Promise<number> {
    const [r] = await this.dataSource.query(`SELECT count(*) AS n FROM api_keys`);
    return Number(r.n);
  }

  /** Ensures `key` is an admin key, unless it was registered before (even if since revoked). */
  async ensureBootstrapKey(key: string): Promise<boolean> {
    const known = async () => (await this.dataSource.query(`SELECT 1 FROM api_keys WHERE key_hash = $1`, [hashKey(key)])).length > 0;
    if (await known()) return false;
    try {
      await this.register(`bootstrap-admin-${randomBytes(3).toString('hex')}`, 'admin', key, 'chainproof');
    } catch (e) {
      // Another server starting on the same database registered it between the look and the write.
      if (isChainproofError(e) && e.code === 'CONFLICT' && (await known())) return false;
      throw e;
    }
    return true;
  }
}
