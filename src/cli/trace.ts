import { ChainproofError } from '../errors.js';
import { shown } from './printable.js';
import type { TraceLine } from './trace-source.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const UNIT_WORDS: Record<string, string> = {
  second: 's', seconds: 's', sec: 's', secs: 's', minute: 'm', minutes: 'm', min: 'm', mins: 'm',
  hour: 'h', hours: 'h', day: 'd', days: 'd', week: 'w', weeks: 'w',
};

/** The range of a JavaScript Date (and of the server's DateTimeISO). */
const MAX_TIME_MS = 8.64e15;
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?$/i;

/**
 * "6 hours ago", "6h", "90 minutes ago", "now", a date (UTC midnight) or an RFC 3339 time with
 * its zone → ms since the epoch. `text` comes from the user (or an MCP client): a date that does
 * not exist (2026-02-30), a time without a zone (local to whom?) or one out of range is refused.
 *
 * @example parseWhen('--since', '6 hours ago') // Date.now() - 21_600_000
 * @example parseWhen('--since', '2026-12-01T03:00:00+01:00') // 1764554400000
 */
export function parseWhen(flag: string, text: string, now = Date.now()): number {
  const bad = (why = '') =>
    new ChainproofError('BAD_USER_INPUT', `${flag} must be an ISO time with its zone (2026-12-01T03:00Z), a date, "now", or like "6 hours ago" / "90m"${why}`);
  const t = text.trim();
  if (t.toLowerCase() === 'now') return now;
  const rel = /^(\d+)\s*([a-z]+)(\s+ago)?$/i.exec(t);
  if (rel) {
    // "M" is months to some and minutes to others: neither is guessed.
    if (rel[2] === 'M') throw bad(': "M" could be minutes or months; write m or min');
    const word = rel[2]!.toLowerCase();
    const unit = UNITS[word] !== undefined ? word : UNIT_WORDS[word];
    if (!unit) throw bad();
    const ms = now - Number(rel[1]) * UNITS[unit]!;
    if (!Number.isSafeInteger(ms) || Math.abs(ms) > MAX_TIME_MS) throw bad(': that is too long ago');
    return ms;
  }
  const iso = ISO.exec(t);
  if (!iso) throw bad();
  const [, y, mo, d, h, mi, sec, frac, zone] = iso;
  if (h !== undefined && zone === undefined) throw bad(': give the zone, e.g. Z or +01:00');
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(sec ?? 0)] as const;
  // Date.UTC takes years 0..99 as 1900..1999: the year is set on its own.
  const at = new Date(Date.UTC(2000, fields[1], fields[2], fields[3], fields[4], fields[5], frac ? Math.floor(Number(frac) * 1000) : 0));
  at.setUTCFullYear(fields[0]);
  const utc = at.getTime();
  // Date.UTC rolls 2026-02-30 over to March 2: a date that does not exist is refused instead.
  const exists = at.getUTCFullYear() === fields[0] && at.getUTCMonth() === fields[1] && at.getUTCDate() === fields[2]
    && at.getUTCHours() === fields[3] && at.getUTCMinutes() === fields[4] && at.getUTCSeconds() === fields[5];
  if (!exists) throw bad(`: ${t} is not a date and time that exists`);
  let offsetMs = 0;
  if (zone && zone.toUpperCase() !== 'Z') {
    const [oh, om] = zone.slice(1).split(':').map(Number) as [number, number];
    if (oh > 23 || om > 59) throw bad(`: ${zone} is not a zone offset`);
    offsetMs = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  // Four-digit years: always within a Date's range.
  return utc - offsetMs;
}

/**
 * A trace's end: as parseWhen, except that "now" means no bound. Audits are stamped with the
 * ledger's clock, which may run ahead of this machine's (another host, or a client's HLC within
 * the allowed skew): "now" read here would cut off the newest of them.
 *
 * @example parseUntil('--until', 'now') // undefined
 */
export function parseUntil(flag: string, text: string, now = Date.now()): number | undefined {
  return text.trim().toLowerCase() === 'now' ? undefined : parseWhen(flag, text, now);
}

const short = (v: unknown, max = 60) => {
  const s = shown(JSON.stringify(v));
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};

/** A timeline an on-call engineer can read: one query per block, its top contributing assertions and their sources. */
export function formatTimeline(lines: TraceLine[], truncated: boolean, top = 3): string {
  if (lines.length === 0) return 'no queries in that window\n';
  const out: string[] = [];
  for (const l of lines) {
    const confidence = l.resultConfidence === null ? '' : `  confidence ${l.resultConfidence}`;
    out.push(`${shown(l.time)}  ${shown(l.subject)} ${shown(l.predicate)}${l.lens ? ` [${shown(l.lens)}]` : ''} → ${short(l.result)}${confidence}`);
    // The agent id is whatever the recorder said; who recorded it is the account the server authenticated.
    out.push(`    query ${shown(l.queryId)}, recorded by ${shown(l.recordedBy)}, event #${l.eventIndex} ${shown(l.eventId.slice(0, 16))}…`);
    const best = [...l.contributingAssertions].sort((a, b) => b.weight - a.weight).slice(0, top);
    for (const c of best) {
      const a = c.assertion;
      const from = c.source ? shown(c.source.locator) : `source ${c.assertionHash.slice(0, 12)}…`;
      out.push(`    ${c.weight.toFixed(2)}  ${shown(a.subject)} ${shown(a.predicate)} = ${short(a.value, 40)} (${shown(a.lifecycle)}, ${a.confidence})  ← ${from}`);
    }
    if (l.contributingAssertions.length > top) out.push(`    … and ${l.contributingAssertions.length - top} more assertions`);
  }
  out.push(`${lines.length} ${lines.length === 1 ? 'query' : 'queries'}${truncated ? ' (more matched: narrow the window or raise --limit)' : ''}`);
  return `${out.join('\n')}\n`;
}

/**
 * The file each line's proof is written to: `<queryId>.tlog-proof`, unless another line's query id
 * differs from it only in case (query ids are case-sensitive, file systems often are not): then
 * each of those names also carries the first 16 hex digits of its event id.
 *
 * @example proofFileNames([{ queryId: 'a', eventId: 'ab…' }, { queryId: 'A', eventId: 'cd…' }]) // ['a.ab….tlog-proof', 'A.cd….tlog-proof']
 */
export function proofFileNames(lines: ReadonlyArray<{ queryId: string; eventId: string }>): string[] {
  const folded = new Map<string, number>();
  for (const l of lines) folded.set(l.queryId.toLowerCase(), (folded.get(l.queryId.toLowerCase()) ?? 0) + 1);
  return lines.map((l) => (folded.get(l.queryId.toLowerCase())! > 1 ? `${l.queryId}.${l.eventId.slice(0, 16)}.tlog-proof` : `${l.queryId}.tlog-proof`));
}
