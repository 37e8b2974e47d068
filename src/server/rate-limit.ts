import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';

/**
 * Token buckets per client IP and per presented credential, in this process (each replica
 * limits on its own). `rate` requests per second, bursts up to `burst`; 0 turns a limit off.
 */
export function rateLimiter(opts: { perIp: number; perKey: number; burstSeconds: number }): RequestHandler {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const take = (id: string, rate: number): number => {
    if (rate <= 0) return 0;
    const now = Date.now();
    const capacity = rate * opts.burstSeconds;
    const b = buckets.get(id) ?? { tokens: capacity, at: now };
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    buckets.set(id, b);
    if (buckets.size > 100_000) buckets.clear(); // bounded memory under an address sweep
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) / rate);
  };
  return (req, res, next) => {
    const auth = req.headers.authorization;
    // The credential is hashed so no key sits in this map; unknown keys are limited too.
    const waitIp = take(`ip:${req.ip ?? req.socket.remoteAddress}`, opts.perIp);
    const waitKey = auth ? take(`key:${createHash('sha256').update(auth).digest('hex')}`, opts.perKey) : 0;
    const wait = Math.max(waitIp, waitKey);
    if (wait === 0) return next();
    res.setHeader('retry-after', String(wait));
    res.status(429).json({ errors: [{ message: 'rate limit exceeded; retry later', extensions: { code: 'RATE_LIMITED' } }] });
  };
}
