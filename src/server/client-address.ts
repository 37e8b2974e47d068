import { isIPv6 } from 'node:net';

/**
 * The part of a client's address that names one client, for per-address limits: an IPv4
 * address whole (also written as IPv4-mapped IPv6), an IPv6 address by its /64, the block one
 * subscriber is usually given: keyed by /128, one host could take 2^64 addresses and as many
 * buckets. The address is the TCP peer's.
 *
 * @example addressKey('2001:db8::1') // '2001:db8:0:0::/64'
 * @example addressKey('::ffff:192.0.2.7') // '192.0.2.7'
 */
export function addressKey(ip: string | undefined): string {
  if (ip === undefined || !isIPv6(ip)) return ip ?? '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = ip.toLowerCase().split('%')[0]!.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // `::` stands for as many zero groups as the others leave of eight (a dotted IPv4 tail is two).
  const width = (gs: string[]) => gs.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = tail === undefined ? left : [...left, ...Array(8 - width(left) - width(right)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
