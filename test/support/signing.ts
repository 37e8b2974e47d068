import { randomBytes } from 'node:crypto';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import { canonicalBytes, type Hlc } from '../../src/ledger/events/envelope.js';
import type { AppendInput } from '../../src/ledger/events/event.js';
import { envelopeOf } from '../../src/ledger/events/prepare.js';

/** A did:key author that signs envelopes the way a client would. */
export function newAuthor() {
  const key = ed25519FromSeed(randomBytes(32));
  const did = didKeyFromPublicKey(key.publicKey);
  return {
    did,
    sign(origin: string, input: Omit<AppendInput, 'author' | 'signature'>, parents: string[], hlc: Hlc): AppendInput {
      const full = { ...input, author: did, parents, hlc };
      const signature = key.sign(canonicalBytes(envelopeOf(full, origin, parents, hlc))).toString('hex');
      return { ...full, signature };
    },
  };
}
