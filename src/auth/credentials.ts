import type { ApiKeyService } from './api-keys.js';
import { unauthenticated } from './errors.js';
import { ANONYMOUS, type Principal } from './roles.js';

/**
 * Who a request is, from `Authorization: Bearer <key>` (HTTP) or the `authorization` /
 * `apiKey` connection parameter (WebSocket). No credentials: anonymous. Bad credentials
 * are refused outright rather than downgraded, so a typo never silently reads as public.
 * `header` is attacker-controlled.
 */
export async function principalFrom(header: unknown, keys: ApiKeyService): Promise<Principal> {
  if (header === undefined || header === null || header === '') return ANONYMOUS;
  if (typeof header !== 'string') throw unauthenticated('credentials must be a string: Bearer <key>');
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  const key = match ? match[1]! : header.trim();
  if (!match && /\s/.test(key)) throw unauthenticated('unsupported Authorization scheme; use Bearer <key>');
  const principal = await keys.authenticate(key);
  if (!principal) throw unauthenticated('unknown or revoked API key');
  return principal;
}
