import { ChainproofError } from '../errors.js';

/**
 * Roles, weakest first. Each of reader → writer → governor → admin may do what the ones
 * before it may; `validator` only reads and cosigns checkpoints, so it stands apart.
 */
export const ROLES = ['reader', 'writer', 'governor', 'admin', 'validator'] as const;
export type Role = (typeof ROLES)[number];

const LADDER: Role[] = ['reader', 'writer', 'governor', 'admin'];

export const isRole = (s: string): s is Role => (ROLES as readonly string[]).includes(s);

/** Whether `held` grants what `required` asks for. */
export function grants(held: Role, required: Role): boolean {
  if (held === required) return true;
  if (required === 'reader') return true; // every role reads
  if (held === 'validator' || required === 'validator') return held === 'admin' && required === 'validator';
  return LADDER.indexOf(held) >= LADDER.indexOf(required);
}

/** Who is asking. An account name is what governance and provenance record as the actor. */
export interface Principal {
  kind: 'api-key' | 'did' | 'anonymous';
  account: string;
  role: Role | null;
  keyId?: string;
  /** For a key bound to agents: the only agents whose query audits it may record. */
  agents?: readonly string[];
}

/**
 * Refuses a recording of `agentId`'s query audits by a principal bound to other agents.
 * Audits are what an on-call engineer reads as "what this agent did", so an agent's key must
 * not write lines into another's trace. `agentId` is caller input.
 */
export function assertMayRecordFor(p: Principal, agentId: unknown): void {
  if (p.agents && !p.agents.includes(agentId as string)) {
    throw new ChainproofError('FORBIDDEN', `this ${p.kind === 'did' ? 'DID' : 'key'} records query audits of ${p.agents.length === 1 ? `agent ${JSON.stringify(p.agents[0])}` : `its ${p.agents.length} agents`} only, not of ${JSON.stringify(agentId)}`);
  }
}

export const ANONYMOUS: Principal = { kind: 'anonymous', account: 'anonymous', role: null };
