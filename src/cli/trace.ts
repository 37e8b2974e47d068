import { ChainproofError } from '../errors.js';
import type { TraceLine } from './trace-source.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const UNIT_WORDS: Record<string, string> = {
  second: 's', seconds: 's', sec: 's', secs: 's', minute: 'm', minutes: 'm', min: 'm', mins: 'm',
  hour: 'h', hours: 'h', day: 'd', days: 'd', week: 'w', weeks: 'w',
};

/** "6 hours ago", "6h", "90 minutes ago", "now", or an ISO time → ms since the epoch. */
export function parseWhen(flag: string, text: string, now = Date.now()): number {
  const t = text.trim().toLowerCase();
  if (t === 'now') return now;
  const rel = /^(\d+)\s*([a-z]+)(\s+ago)?$/.exec(t);
  if (rel) {
    const unit = UNITS[rel[2]!] !== undefined ? rel[2]! : UNIT_WORDS[rel[2]!];
    if (unit) return now - Number(rel[1]) * UNITS[unit]!;
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new ChainproofError('BAD_USER_INPUT', `${flag} must be an ISO time, "now", or like "6 hours ago" / "90m"`);
}

const short = (v: unknown, max = 60) => {
  const s = JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};

/** A timeline an on-call engineer can read: one query per block, its top contributing assertions and their sources. */
export function formatTimeline(lines: TraceLine[], truncated: boolean, top = 3): string {
  if (lines.length === 0) return 'no queries in that window\n';
  const out: string[] = [];
  for (const l of lines) {
    const confidence = l.resultConfidence === null ? '' : `  confidence ${l.resultConfidence}`;
    out.push(`${l.time}  ${l.subject} ${l.predicate}${l.lens ? ` [${l.lens}]` : ''} → ${short(l.result)}${confidence}`);
    out.push(`    query ${l.queryId}, event #${l.eventIndex} ${l.eventId.slice(0, 16)}…`);
    const best = [...l.contributingAssertions].sort((a, b) => b.weight - a.weight).slice(0, top);
    for (const c of best) {
      const a = c.assertion;
      out.push(`    ${c.weight.toFixed(2)}  ${a.subject} ${a.predicate} = ${short(a.value, 40)} (${a.lifecycle}, ${a.confidence})  ← ${c.source?.locator ?? `source ${c.assertionHash.slice(0, 12)}…`}`);
    }
    if (l.contributingAssertions.length > top) out.push(`    … and ${l.contributingAssertions.length - top} more assertions`);
  }
  out.push(`${lines.length} ${lines.length === 1 ? 'query' : 'queries'}${truncated ? ' (more matched: narrow the window or raise --limit)' : ''}`);
  return `${out.join('\n')}\n`;
}
