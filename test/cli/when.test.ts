import { describe, expect, it } from 'vitest';
import { parseUntil, parseWhen } from '../../src/cli/trace.js';

const NOW = Date.parse('2026-12-02T12:00:00Z');
const when = (text: string) => parseWhen('--since', text, NOW);
const codeOf = (text: string) => {
  try {
    when(text);
    return 'accepted';
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

describe('--since / --until times', () => {
  it('reads relative times, now, dates and RFC 3339 times with their zone', () => {
    expect(when('6 hours ago')).toBe(NOW - 6 * 3_600_000);
    expect(when(' 90m ')).toBe(NOW - 90 * 60_000);
    expect(when('2 Days Ago')).toBe(NOW - 2 * 86_400_000);
    expect(when('now')).toBe(NOW);
    expect(when(' NOW ')).toBe(NOW);
    expect(when('2 weeks ago')).toBe(NOW - 14 * 86_400_000);
    expect(when('1w')).toBe(NOW - 7 * 86_400_000);
    expect(when('5 mins ago')).toBe(NOW - 5 * 60_000);
    expect(when('30 secs')).toBe(NOW - 30_000);
    expect(when('2026-12-01')).toBe(Date.parse('2026-12-01T00:00:00Z'));
    expect(when('2026-12-01T03:00Z')).toBe(Date.parse('2026-12-01T03:00:00Z'));
    expect(when('2026-12-01T03:00:00+01:00')).toBe(Date.parse('2026-12-01T02:00:00Z'));
    expect(when('2026-12-01 03:00:00.250-05:30')).toBe(Date.parse('2026-12-01T08:30:00.250Z'));
    expect(when('2024-02-29')).toBe(Date.parse('2024-02-29T00:00:00Z'));
    // Years 0..99 are those years, not 1900..1999.
    expect(when('0099-12-31T23:00Z')).toBe(Date.parse('0099-12-31T23:00:00Z'));
    expect(new Date(when('0001-01-01')).getUTCFullYear()).toBe(1);
  });

  it('takes an end of "now" as no end: the ledger\'s clock may run ahead of this machine\'s', () => {
    expect(parseUntil('--until', ' Now ', NOW)).toBeUndefined();
    expect(parseUntil('--until', '1 hour ago', NOW)).toBe(NOW - 3_600_000);
    expect(() => parseUntil('--until', 'soon', NOW)).toThrow(/--until must be/);
  });

  it('refuses what does not exist, has no zone, or is out of range, rather than guess', () => {
    for (const text of [
      '2026-02-30', '2026-02-29', '2026-13-01', '2026-12-01T24:00Z', '2026-12-01T03:60Z', '2026-12-01T03:00:61Z',
      '2026-12-01T03:00', '2026-12-01T03:00+25:00', '999999999999 days ago', '99999999999999999999 s',
      '6 fortnights ago', 'last tuesday', '', '2026-12-01Tfoo', '1M', '3M ago', '2026-12-01T03:00+01:60',
      // A zone offset is at most 23:59 either way (RFC 3339's time-numoffset).
      '2026-12-01T03:00+24:00', '2026-12-01T03:00-24:00',
      // A safe integer, but before the first time a Date (and the server's DateTimeISO) can hold.
      '100100000 days ago',
    ]) {
      expect(codeOf(text), text).toBe('BAD_USER_INPUT');
    }
  });
});
