import type { Hlc } from './envelope.js';

/** An appended event as the rest of the server sees it. */
export interface LedgerEvent {
  ledger: string;
  /** Where the event was first written: this ledger's origin, or a peer's for a synced copy. */
  origin: string;
  index: number;
  /** Lowercase hex of the RFC 6962 leaf hash of `canonical`. */
  id: string;
  canonical: Buffer;
  signature: string | null;
  type: string;
  actor: string;
  author: string | null;
  resource: string | null;
  subsystem: string | null;
  result: string | null;
  correlationId: string | null;
  payload: unknown;
  parents: string[];
  hlc: Hlc;
  idempotencyKey: string | null;
  appendedAt: Date;
}

/** What a caller asks to append. `type` and `actor` are required; the rest may be omitted. */
export interface AppendInput {
  type: string;
  actor: string;
  author?: string;
  resource?: string;
  subsystem?: string;
  payload?: unknown;
  result?: string;
  correlationId?: string;
  /** Explicit causal links; omitted means "the ledger's current tips". */
  parents?: string[];
  hlc?: Hlc;
  /** Hex Ed25519 signature by `author` (a did:key) over the canonical envelope. */
  signature?: string;
  idempotencyKey?: string;
}

export function splitIds(concatenated: Buffer): string[] {
  const ids: string[] = [];
  for (let i = 0; i + 32 <= concatenated.length; i += 32) ids.push(concatenated.toString('hex', i, i + 32));
  return ids;
}

export function joinIds(ids: string[]): Buffer {
  return Buffer.from(ids.join(''), 'hex');
}
