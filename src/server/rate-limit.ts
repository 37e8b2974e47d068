import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { presentedKey } from '../auth/credentials.js';
import { RecentMap } from '../recent-map.js';
import { addressKey } from './client-address.js';
import { errorBody } from './errors.js';

/** Seconds a request must wait before it may be served; 0 serves it now. */
export type RateLimit = (ip: string | undefined, authorization: string | undefined) => number;

/** Buckets kept at most; beyond, the least recently used go (a full bucket is as good as none). */
const MAX_BUCKETS = 100_000;

/**
 * Token buckets per client address (see addressKey: IPv6 by /64) and per presented credential,
 * in this process (each replica limits on its own). `rate` requests per second, bursts up to `burst`; 0 turns a limit off.
 */
export function rateLimit(opts: { perIp: number; perKey: number; burstSeconds: number }): RateLimit {
  // Memory stays bounded under an address or key sweep without forgetting the buckets in use:
  // clearing them all would give a sweeping client a full bucket.
  const buckets = new RecentMap<string, { tokens: number; at: number }>(MAX_BUCKETS);
  const take = (id: string, rate: number): number => {
    const now = Date.now();
    const capacity = rate * opts.burstSeconds;
    const b = buckets.get(id) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    buckets.set(id, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / rate);
  };
  return (ip, authorization) => {
    const waitIp = opts.perIp > 0 ? take(`ip:${addressKey(ip)}`, opts.perIp) : 0;
    // A request its address may not make now is refused before its credential is looked at:
    // made-up keys then add buckets no faster than the address's own limit.
    if (waitIp > 0) return waitIp;
    // The credential (attacker-chosen) is hashed so no key sits in this map; unknown keys are limited too.
    // Every way of writing one key (scheme, case, spaces) draws on one bucket.
    const key = authorization === undefined ? undefined : presentedKey(authorization);
    return opts.perKey > 0 && key ? take(`key:${createHash('sha256').update(key).digest('hex')}`, opts.perKey) : 0;
  };
}

/** The answer to a limited request: 429, Retry-After, and the error in GraphQL's shape. */
export const RATE_LIMITED_MESSAGE = 'rate limit exceeded; retry later';
export const RATE_LIMITED_BODY = errorBody(RATE_LIMITED_MESSAGE, 'RATE_LIMITED');

/** `rateLimit` as Express middleware, for the routes outside GraphQL. */
export function rateLimiter(opts: { perIp: number; perKey: number; burstSeconds: number }): RequestHandler {
  const wait = rateLimit(opts);
  return (req, res, next) => {
    const seconds = wait(req.ip ?? req.socket.remoteAddress, req.headers.authorization);
    if (seconds === 0) return next();
    res.status(429).setHeader('retry-after', String(seconds)).type('application/json').send(RATE_LIMITED_BODY);
  };
}
