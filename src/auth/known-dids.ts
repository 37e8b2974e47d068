import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ChainproofError } from '../errors.js';
import { publicKeyFromDidKey } from '../ledger/events/did-key.js';
import { ed25519Verify } from '../ledger/events/ed25519.js';
import type { LedgerService } from '../ledger/ledger-service.js';
import { agentScope, AUTH_SUBSYSTEM, reserveAuthRecords, SYSTEM_LEDGER, type KeyScope } from './api-keys.js';
import { isRole, type Principal } from './roles.js';

export interface KnownDid {
  did: string;
  name: string;
  role: string;
  /** The agents whose query audits the DID may record; null: any agent's. */
  agents: string[] | null;
  registeredBy: string;
  registeredAt: Date;
  revokedAt: Date | null;
}

/** How far a signed request's timestamp may be from the server clock. */
export const REQUEST_SKEW_MS = 5 * 60_000;

/**
 * The bytes a did:key signs to authenticate one HTTP request to the server whose key is named
 * `audience` (its CHAINPROOF_ORIGIN: the name in `Ledger.verifierKey`, the origin before `/main`):
 *
 *     chainproof-request-v2\n<audience>\n<METHOD>\n<path>\n<timestamp ms>\n<hex SHA-256 of the body>
 *
 * The audience keeps a request signed for one deployment from being replayed, within its window,
 * to another that registered the same DID (each only remembers the signatures it was sent).
 * Headers: `X-Chainproof-DID`, `X-Chainproof-Timestamp`, `X-Chainproof-Signature` (hex Ed25519).
 */
export function requestSigningBytes(audience: string, method: string, path: string, timestampMs: string, body: Uint8Array | string): Buffer {
  const digest = createHash('sha256').update(body).digest('hex');
  return Buffer.from(`chainproof-request-v2\n${audience}\n${method.toUpperCase()}\n${path}\n${timestampMs}\n${digest}`, 'utf8');
}

/** How often a process deletes the signatures whose requests have expired. */
const PRUNE_EVERY_MS = 60_000;

/** did:key identities, registered by admins as ledger events, that may sign requests. */
export class KnownDidService {
  private lastPrune = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
  ) {
    reserveAuthRecords(ledger);
  }

  async register(did: string, role: string, name: string, by: string, scope: KeyScope = {}): Promise<KnownDid> {
    publicKeyFromDidKey(did, 'did'); // refuses anything but an Ed25519 did:key
    if (!isRole(role)) throw new ChainproofError('BAD_USER_INPUT', 'role must be one of reader, writer, governor, admin, validator');
    if (!/^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$/.test(name)) throw new ChainproofError('BAD_USER_INPUT', 'name must be 1..64 of letters, digits and . _ @ : -');
    const agents = agentScope(role, scope.agents);
    const payload = { did, role, name, ...(agents ? { agents } : {}) };
    await this.ledger.append(SYSTEM_LEDGER, [{ type: 'DidRegistered', actor: by, subsystem: AUTH_SUBSYSTEM, resource: did, payload }], {
      internal: true,
      projection: async (tx, [e]) => {
        const exists = await tx.query(`SELECT 1 FROM known_dids WHERE did = $1 AND revoked_at IS NULL`, [did]);
        if (exists.length) throw new ChainproofError('CONFLICT', `${did} is registered already`);
        await tx.query(`DELETE FROM known_dids WHERE did = $1`, [did]);
        await tx.query(
          `INSERT INTO known_dids (did, name, role, registered_by, registered_at, registered_event, agents) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
          [did, name, role, by, e!.appendedAt, Buffer.from(e!.id, 'hex'), agents],
        );
      },
    });
    return (await this.list()).find((d) => d.did === did)!;
  }

  async revoke(did: string, by: string): Promise<KnownDid> {
    publicKeyFromDidKey(did, 'did');
    await this.ledger.append(SYSTEM_LEDGER, [{ type: 'DidRevoked', actor: by, subsystem: AUTH_SUBSYSTEM, resource: did, payload: { did } }], {
      internal: true,
      projection: async (tx, [e]) => {
        const r = await tx.query(
          `UPDATE known_dids SET revoked_at = $2, revoked_event = $3 WHERE did = $1 AND revoked_at IS NULL RETURNING did`,
          [did, e!.appendedAt, Buffer.from(e!.id, 'hex')],
        );
        const rows: unknown[] = Array.isArray(r[0]) ? r[0] : r;
        if (rows.length === 0) throw new ChainproofError('NOT_FOUND', `${did} is not a registered DID`);
      },
    });
    return (await this.list()).find((d) => d.did === did)!;
  }

  async list(): Promise<KnownDid[]> {
    const rows: Array<Record<string, any>> = await this.dataSource.query(
      `SELECT did, name, role, agents, registered_by, registered_at, revoked_at FROM known_dids ORDER BY registered_at, did`,
    );
    return rows.map((r) => ({
      did: r.did, name: r.name, role: r.role, agents: r.agents, registeredBy: r.registered_by, registeredAt: r.registered_at, revokedAt: r.revoked_at,
    }));
  }

  /**
   * The principal of a signed request, or an UNAUTHENTICATED error. Every input is
   * attacker-controlled; a signature is accepted once (replays inside the skew window fail).
   */
  async authenticate(did: string, timestamp: string, signatureHex: string, signedBytes: Buffer): Promise<Principal> {
    const fail = (why: string) => new ChainproofError('UNAUTHENTICATED', `signed request refused: ${why}`);
    if (!/^\d{1,16}$/.test(timestamp) || Math.abs(Number(timestamp) - Date.now()) > REQUEST_SKEW_MS) throw fail('timestamp missing or more than 5 minutes off');
    if (!/^[0-9a-f]{128}$/.test(signatureHex)) throw fail('signature must be 128 hex characters');
    let publicKey: Buffer;
    try {
      publicKey = publicKeyFromDidKey(did);
    } catch {
      throw fail('not an Ed25519 did:key');
    }
    if (!ed25519Verify(publicKey, signedBytes, Buffer.from(signatureHex, 'hex'))) throw fail('bad signature');
    const [row] = await this.dataSource.query(`SELECT name, role, agents FROM known_dids WHERE did = $1 AND revoked_at IS NULL`, [did]);
    if (!row) throw fail('unknown or revoked DID');
    // Claimed in the database, not in this process: another process sharing it, or this one
    // restarted, would otherwise take the same signed request again within the skew window.
    // Kept past the window by as much again, for processes whose clocks differ.
    const claimed: unknown[] = await this.dataSource.query(
      `INSERT INTO used_request_signatures (signature, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1 AS claimed`,
      [Buffer.from(signatureHex, 'hex'), new Date(Number(timestamp) + 2 * REQUEST_SKEW_MS)],
    );
    if (claimed.length === 0) throw fail('replayed signature');
    const now = Date.now();
    if (now - this.lastPrune > PRUNE_EVERY_MS) {
      this.lastPrune = now;
      // Best effort: an expired row left behind only waits for the next prune.
      this.dataSource.query(`DELETE FROM used_request_signatures WHERE expires_at < now()`).catch(() => {});
    }
    return { kind: 'did', account: did, role: row.role, keyId: row.name, ...(row.agents ? { agents: row.agents } : {}) };
  }
}
