import { ChainproofError } from '../errors.js';
import { parseVerifierKey } from '../ledger/note/index.js';
import { secretBearingPart } from '../shown-url.js';

/** The ledger syncs exchange: every node's `main`. */
export const SYNC_LEDGER = 'main';

/** A peer as configured: its GraphQL URL and the verifier key its checkpoints must carry. */
export interface PeerSpec {
  url: string;
  verifierKey: string;
  /** Origin of the peer's synced ledger: `<key name>/main`, as the peer's server names its ledgers. */
  origin: string;
}

/** `url` and `verifierKey` are attacker-controlled when they come through createPeer. */
export function peerSpec(url: string, verifierKey: string): PeerSpec {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not echoed: what does not parse may still hold a password.
    throw new ChainproofError('BAD_USER_INPUT', `a peer URL (${url.length} characters) is not a URL`);
  }
  // Checked before the URL is ever echoed.
  const secret = secretBearingPart(parsed);
  if (secret) throw new ChainproofError('BAD_USER_INPUT', `a peer URL must not carry ${secret}; give the key this node presents in CHAINPROOF_SYNC_API_KEY`);
  if (!['http:', 'https:'].includes(parsed.protocol) || url.includes('|') || url.length > 2048) {
    throw new ChainproofError('BAD_USER_INPUT', `peer URL ${JSON.stringify(url)} must be an http(s) URL of at most 2048 characters`);
  }
  let name: string;
  try {
    name = parseVerifierKey(verifierKey).name;
  } catch (e) {
    throw new ChainproofError('BAD_USER_INPUT', `peer verifier key: ${(e as Error).message}`, { cause: e });
  }
  return { url, verifierKey, origin: `${name}/${SYNC_LEDGER}` };
}
