import type { ApiKeyService } from '../auth/api-keys.js';
import { principalFrom } from '../auth/credentials.js';
import { isChainproofError } from '../errors.js';
import type { WsExtra } from './ws-transport.js';

/** How often an open WebSocket's key is checked again, asking the database: a revocation elsewhere closes it within this, as it stops HTTP requests. */
const KEY_RECHECK_MS = 5_000;

/**
 * A key is presented once, in connection_init, and a connection may outlive it. Sockets that
 * authenticated with a key are checked again before each operation (`admits`), every
 * KEY_RECHECK_MS and after each revocation in this process, and closed with 4403 once the key
 * is revoked, so it stops working there as it does over HTTP.
 */
export function watchKeys(keys: ApiKeyService, credentialOf: (extra: WsExtra) => string | undefined) {
  const keyed = new Set<WsExtra>();
  const revoked = async (credential: string | undefined, maxAgeMs?: number): Promise<boolean> => {
    try {
      await principalFrom(credential, keys, maxAgeMs);
      return false;
    } catch (e) {
      // Only a refused key ends a connection; a database that does not answer is not a revocation.
      return isChainproofError(e) && e.code === 'UNAUTHENTICATED';
    }
  };
  const close = (extra: WsExtra) => extra.close(4403, 'Forbidden: the API key is unknown or revoked');
  const recheck = () => {
    // Past the key cache (whose entries may be nearly as old as a tick), once per key however many sockets share it.
    const byKey = new Map<string | undefined, WsExtra[]>();
    for (const extra of keyed) {
      const credential = credentialOf(extra);
      const sockets = byKey.get(credential);
      if (sockets) sockets.push(extra);
      else byKey.set(credential, [extra]);
    }
    for (const [credential, sockets] of byKey) void revoked(credential, 0).then((r) => r && sockets.forEach(close));
  };
  const timer = setInterval(recheck, KEY_RECHECK_MS);
  timer.unref();
  // A revocation this process made closes its sockets now; one made elsewhere, within KEY_RECHECK_MS.
  const unsubscribe = keys.onRevoke(recheck);
  return {
    /**
     * Watches a socket that authenticated with a key. onConnect adds it once the key's look-up
     * answers, and graphql-ws runs onClose (which removes it) when the socket closes, even while
     * that look-up is still out: a socket closed by then would be kept, and checked, for good.
     */
    add: (extra: WsExtra) => {
      if (extra.socket.readyState === extra.socket.OPEN) keyed.add(extra);
    },
    remove: (extra: WsExtra) => void keyed.delete(extra),
    /** Whether the socket may run another operation (at once, for a socket with no key); one whose key was revoked is closed. */
    admits(extra: WsExtra): true | Promise<boolean> {
      if (!keyed.has(extra)) return true;
      return revoked(credentialOf(extra)).then((r) => {
        if (r) close(extra);
        return !r;
      });
    },
    stop: () => {
      clearInterval(timer);
      unsubscribe();
    },
  };
}
