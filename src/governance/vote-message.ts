import canonicalize from 'canonicalize';
import { publicKeyFromDidKey } from '../ledger/events/did-key.js';
import { ed25519Verify } from '../ledger/events/ed25519.js';
import type { VoteChoice } from './events.js';

export interface VoteMessage {
  origin: string;
  proposalId: string;
  voter: string;
  choice: VoteChoice;
  reason?: string;
}

/**
 * What a voter signs: RFC 8785 JSON of the vote, bound to the governance ledger's origin so
 * a signature cannot be replayed on another deployment, and to one proposal and choice.
 *
 * @example voteMessageBytes({ origin: 'acme/main', proposalId, voter: 'did:key:z6Mk…', choice: 'FOR' })
 */
export function voteMessageBytes(v: VoteMessage): Buffer {
  const body: Record<string, string> = { type: 'chainproof.vote/v1', origin: v.origin, proposalId: v.proposalId, voter: v.voter, choice: v.choice };
  if (v.reason !== undefined) body.reason = v.reason;
  return Buffer.from(canonicalize(body)!, 'utf8');
}

/** Whether `signatureHex` (attacker-controlled) is the did:key voter's Ed25519 signature of the vote. */
export function voteSignatureValid(v: VoteMessage, signatureHex: string): boolean {
  if (!/^[0-9a-f]{128}$/.test(signatureHex) || !v.voter.startsWith('did:key:')) return false;
  let publicKey: Buffer;
  try {
    publicKey = publicKeyFromDidKey(v.voter);
  } catch {
    return false;
  }
  return ed25519Verify(publicKey, voteMessageBytes(v), Buffer.from(signatureHex, 'hex'));
}
