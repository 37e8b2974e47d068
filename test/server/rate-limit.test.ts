import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Request, Response } from 'express';
import { rateLimit, rateLimiter } from '../../src/server/rate-limit.js';

// The clock stands still: what is asserted is the buckets' bookkeeping, not refill.
beforeEach(() => vi.useFakeTimers({ now: 1_700_000_000_000 }));
afterEach(() => vi.useRealTimers());

describe('rate limit', () => {
  it('keeps a throttled address throttled however many made-up keys it sends', () => {
    const wait = rateLimit({ perIp: 2, perKey: 5, burstSeconds: 1 });
    expect(wait('10.0.0.9', undefined)).toBe(0);
    expect(wait('10.0.0.9', undefined)).toBe(0);
    let served = 0;
    for (let i = 0; i < 150_000; i++) if (wait('10.0.0.9', `Bearer made-up-${i}`) === 0) served++;
    expect(served).toBe(0);
    expect(wait('10.0.0.9', undefined)).toBeGreaterThan(0);
  });

  it('keeps the buckets in use when a sweep of keys passes the bound', () => {
    const wait = rateLimit({ perIp: 0, perKey: 1, burstSeconds: 1 });
    expect(wait(undefined, 'Bearer busy')).toBe(0);
    let busyServed = 0;
    for (let i = 0; i < 150_000; i++) {
      wait(undefined, `Bearer sweep-${i}`);
      // The busy key keeps asking, so it is never the least recently used.
      if (i % 1000 === 0 && wait(undefined, 'Bearer busy') === 0) busyServed++;
    }
    expect(busyServed).toBe(0);
    expect(wait(undefined, 'Bearer busy')).toBeGreaterThan(0);
  });
});

describe('rate limit buckets', () => {
  it('refill to the burst and no further, however long a client was idle', () => {
    const wait = rateLimit({ perIp: 1, perKey: 0, burstSeconds: 2 });
    expect(wait('10.0.0.1', undefined)).toBe(0);
    vi.advanceTimersByTime(3_600_000);
    expect(wait('10.0.0.1', undefined)).toBe(0);
    expect(wait('10.0.0.1', undefined)).toBe(0);
    expect(wait('10.0.0.1', undefined)).toBe(1);
  });

  it('take no per-key limit when it is 0', () => {
    const wait = rateLimit({ perIp: 0, perKey: 0, burstSeconds: 1 });
    for (let i = 0; i < 10; i++) expect(wait('10.0.0.1', 'Bearer k')).toBe(0);
  });

  it('draw every way of writing one key on one bucket', () => {
    const wait = rateLimit({ perIp: 0, perKey: 1, burstSeconds: 2 });
    expect(wait(undefined, 'Bearer k1')).toBe(0);
    expect(wait(undefined, '  bearer   k1 ')).toBe(0);
    expect(wait(undefined, 'k1')).toBeGreaterThan(0);
    expect(wait(undefined, 'Bearer k2')).toBe(0);
  });
});

describe('a refused request', () => {
  it('waits until a whole token has refilled: half a token serves nothing', () => {
    const wait = rateLimit({ perIp: 1, perKey: 0, burstSeconds: 1 });
    expect(wait('10.0.0.2', undefined)).toBe(0);
    vi.advanceTimersByTime(500);
    expect(wait('10.0.0.2', undefined)).toBe(1);
    vi.advanceTimersByTime(500);
    expect(wait('10.0.0.2', undefined)).toBe(0);
  });

  it('is told to retry after a whole second at least, however fast its rate refills', () => {
    const wait = rateLimit({ perIp: 0, perKey: 10, burstSeconds: 1 });
    for (let i = 0; i < 10; i++) expect(wait(undefined, 'Bearer fast')).toBe(0);
    expect(wait(undefined, 'Bearer fast')).toBe(1);
  });

  it('from another address of the same IPv6 /64 draws on the same bucket; another /64 has its own', () => {
    const wait = rateLimit({ perIp: 1, perKey: 0, burstSeconds: 1 });
    expect(wait('2001:db8:1:2::1', undefined)).toBe(0);
    expect(wait('2001:db8:1:2:ffff::9', undefined)).toBe(1);
    expect(wait('2001:db8:1:3::1', undefined)).toBe(0);
    expect(wait('::ffff:192.0.2.7', undefined)).toBe(0);
    expect(wait('192.0.2.7', undefined)).toBe(1);
  });

  it('of an address under its limit is still refused by its key\'s', () => {
    const wait = rateLimit({ perIp: 100, perKey: 1, burstSeconds: 1 });
    expect(wait('10.0.0.3', 'Bearer shared')).toBe(0);
    expect(wait('10.0.0.4', 'Bearer shared')).toBe(1);
    expect(wait('10.0.0.4', 'Bearer other')).toBe(0);
    expect(wait('10.0.0.4', undefined)).toBe(0);
  });
});

describe('the rate limiter middleware', () => {
  it('passes a request within the limit on and answers the next with 429 and Retry-After', () => {
    const limiter = rateLimiter({ perIp: 1, perKey: 0, burstSeconds: 1 });
    const req = { ip: '10.0.0.5', headers: {}, socket: {} } as unknown as Request;
    const sent: { status?: number; headers: Record<string, string>; body?: string } = { headers: {} };
    const res = {
      status: (n: number) => ((sent.status = n), res),
      setHeader: (k: string, v: string) => ((sent.headers[k] = v), res),
      type: () => res,
      send: (b: string) => ((sent.body = b), res),
    } as unknown as Response;
    const next = vi.fn();
    limiter(req, res, next);
    expect(next).toHaveBeenCalledTimes(1);
    limiter(req, res, next);
    expect(next).toHaveBeenCalledTimes(1);
    expect(sent).toMatchObject({ status: 429, headers: { 'retry-after': '1' } });
    expect(JSON.parse(sent.body!).errors[0].extensions.code).toBe('RATE_LIMITED');
  });
});
