import { describe, expect, it, vi } from 'vitest';
import { addressKey } from '../../src/server/client-address.js';
import { rateLimit } from '../../src/server/rate-limit.js';

describe('a client address, as per-address limits key it', () => {
  it('is an IPv4 address whole, however written, and an IPv6 address by its /64', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::FFFF:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002::9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('2001:db8::1:2:3:4:5')).toBe('2001:db8:0:1::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    // A zone is not a group, even one with a dot in it (a VLAN interface).
    expect(addressKey('2001:db8::1:2:3:4:5%eth0.100')).toBe('2001:db8:0:1::/64');
    // A trailing `::` still stands for zero groups.
    expect(addressKey('2001:db8::')).toBe('2001:db8:0:0::/64');
    expect(addressKey(undefined)).toBe('');
    // Hex digits in either case name one address.
    expect(addressKey('2001:DB8:A::1')).toBe('2001:db8:a:0::/64');
    // A dotted IPv4 tail stands for two groups when `::` is expanded.
    expect(addressKey('::a:b:c:d:1.2.3.4')).toBe('0:0:a:b::/64');
  });

  it('shares one bucket across a /64, so a host cannot take fresh addresses for fresh buckets', () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 }); // no refill between the calls
    const wait = rateLimit({ perIp: 1, perKey: 0, burstSeconds: 2 });
    expect(wait('2001:db8:1:2::a', undefined)).toBe(0);
    expect(wait('2001:db8:1:2::b', undefined)).toBe(0);
    expect(wait('2001:db8:1:2:ffff::c', undefined)).toBeGreaterThan(0);
    expect(wait('2001:db8:1:3::a', undefined)).toBe(0);
    vi.useRealTimers();
  });
});
