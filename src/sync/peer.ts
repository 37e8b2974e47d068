import { ChainproofError } from '../errors.js';
import { parseVerifierKey } from '../ledger/note/index.js';
import { shownUrlProblem } from '../shown-url.js';

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
  const problem = shownUrlProblem(url);
  if (problem) throw new ChainproofError('BAD_USER_INPUT', `a peer URL ${problem}`);
  let name: string;
  try {
    name = parseVerifierKey(verifierKey).name;
  } catch (e) {
    throw new ChainproofError('BAD_USER_INPUT', `peer verifier key: ${(e as Error).message}`, { cause: e });
  }
  return { url, verifierKey, origin: `${name}/${SYNC_LEDGER}` };
}
