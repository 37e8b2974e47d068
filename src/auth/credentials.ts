import type { ApiKeyService } from './api-keys.js';
import { requestSigningBytes, type KnownDidService } from './known-dids.js';
import { unauthenticated } from './errors.js';
import { ANONYMOUS, type Principal } from './roles.js';

/**
 * The key in a presented credential: `Bearer <key>` (any case, any spaces) or the bare key.
 *
 * @example presentedKey('bearer  cpk_x ') // 'cpk_x'
 */
export function presentedKey(header: string): string {
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match ? match[1]! : header.trim();
}

/**
 * Who a request is, from `Authorization: Bearer <key>` (HTTP) or the `authorization` /
 * `apiKey` connection parameter (WebSocket). No credentials: anonymous. Bad credentials
 * are refused outright rather than downgraded, so a typo never silently reads as public.
 * `header` is attacker-controlled.
 */
export async function principalFrom(header: unknown, keys: ApiKeyService, maxAgeMs?: number): Promise<Principal> {
  if (header === undefined || header === null || header === '') return ANONYMOUS;
  if (typeof header !== 'string') throw unauthenticated('credentials must be a string: Bearer <key>');
  const key = presentedKey(header);
  if (/\s/.test(key)) throw unauthenticated('unsupported Authorization scheme; use Bearer <key>');
  const principal = await keys.authenticate(key, maxAgeMs);
  if (!principal) throw unauthenticated('unknown or revoked API key');
  return principal;
}

/** The signed-request headers (all three or none); values are attacker-controlled, but `audience`, this server's key name. */
export interface SignedRequest {
  audience: string;
  did: string;
  timestamp: string;
  signature: string;
  method: string;
  path: string;
  body: Uint8Array;
}

/** Who an HTTP request is: a did:key signature if it carries one, else its bearer key. */
export async function principalOfRequest(
  authorization: unknown,
  signed: SignedRequest | undefined,
  keys: ApiKeyService,
  dids: KnownDidService,
): Promise<Principal> {
  if (signed) {
    if (authorization) throw unauthenticated('send either an API key or a did:key signature, not both');
    return dids.authenticate(signed.did, signed.timestamp, signed.signature, requestSigningBytes(signed.audience, signed.method, signed.path, signed.timestamp, signed.body));
  }
  return principalFrom(authorization, keys);
}
