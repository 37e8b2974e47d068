import { createHash } from 'node:crypto';
import { ChainproofError } from '../errors.js';
import { RecentMap } from '../recent-map.js';

/** Relay-style page request over a ledger-ordered list whose cursor is a position number. */
export interface PageArgs {
  first?: number;
  after?: string;
  last?: number;
  before?: string;
}

export interface Page<T> {
  items: Array<{ cursor: string; node: T }>;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

export const MAX_PAGE = 1000;
/** A page's size when neither `first` nor `last` is given. */
export const DEFAULT_PAGE = 100;

const ledgerTags = new RecentMap<string, string>(10_000);

/** A ledger's mark in its cursors: 8 characters of the SHA-256 of its name. */
function ledgerTag(ledger: string): string {
  let tag = ledgerTags.get(ledger);
  if (tag === undefined) {
    tag = createHash('sha256').update(ledger).digest('base64url').slice(0, 8);
    ledgerTags.set(ledger, tag);
  }
  return tag;
}

/**
 * Cursors are opaque to clients: base64url of `<kind>:<position>`, followed by `:<ledger tag>`
 * where positions count within one ledger, so that a cursor handed to another ledger's list
 * is refused rather than read as a position there.
 *
 * @example encodeCursor('event', 41, 'main') // 'ZXZlbnQ6NDE6…'
 */
export function encodeCursor(kind: string, position: number, ledger?: string): string {
  return Buffer.from(ledger === undefined ? `${kind}:${position}` : `${kind}:${position}:${ledgerTag(ledger)}`).toString('base64url');
}

/**
 * The position in a cursor this server made (attacker-controlled: only its exact encoding is
 * accepted). With `ledger`, a cursor marked for another ledger is refused; one without a mark,
 * as servers made them before cursors carried one, is still taken as a position.
 */
export function decodeCursor(kind: string, cursor: string, ledger?: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^([^:]*):(\d{1,16})(?::([\w-]{8}))?$/.exec(text);
  const n = Number(match?.[2]);
  const tag = match?.[3];
  const exact = Buffer.from(text).toString('base64url') === cursor && String(n) === match?.[2];
  if (match?.[1] !== kind || !Number.isSafeInteger(n) || !exact || (tag !== undefined && ledger === undefined)) {
    throw new ChainproofError('BAD_USER_INPUT', `malformed ${kind} cursor`);
  }
  if (tag !== undefined && tag !== ledgerTag(ledger!)) {
    throw new ChainproofError('BAD_USER_INPUT', `this ${kind} cursor is another ledger's`);
  }
  return n;
}

/**
 * `first` and `after` of a connection that pages forward only, checked as pageWindow checks
 * them; `after` is -1 when absent. `last` and `before` are refused rather than ignored.
 *
 * @example forwardPage('vote', { first: 10 }, 100) // { first: 10, after: -1 }
 */
export function forwardPage(kind: string, args: PageArgs, defaultSize: number): { first: number; after: number } {
  if (args.last !== undefined || args.before !== undefined) {
    throw new ChainproofError('BAD_USER_INPUT', `${kind}s page forward only: use first and after`);
  }
  const w = pageWindow(kind, { first: args.first ?? defaultSize, after: args.after });
  return { first: w.limit, after: w.afterPos ?? -1 };
}

export interface PageWindow {
  /** Exclusive bounds on the position. */
  afterPos?: number;
  beforePos?: number;
  limit: number;
  /** Read newest first (for `last`), then reverse. */
  backwards: boolean;
}

/** `ledger`: the ledger whose positions the cursors count (see decodeCursor). */
export function pageWindow(kind: string, args: PageArgs, ledger?: string): PageWindow {
  if (args.first !== undefined && args.last !== undefined) {
    throw new ChainproofError('BAD_USER_INPUT', 'pass either first or last, not both');
  }
  for (const [name, v] of [['first', args.first], ['last', args.last]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > MAX_PAGE)) {
      throw new ChainproofError('BAD_USER_INPUT', `${name} must be an integer in 0..${MAX_PAGE}`);
    }
  }
  return {
    afterPos: args.after !== undefined ? decodeCursor(kind, args.after, ledger) : undefined,
    beforePos: args.before !== undefined ? decodeCursor(kind, args.before, ledger) : undefined,
    limit: args.last ?? args.first ?? DEFAULT_PAGE,
    backwards: args.last !== undefined,
  };
}

/** Builds the page from `limit + 1` rows read in window order. */
export function toPage<T>(kind: string, w: PageWindow, rows: T[], position: (t: T) => number, ledger?: string): Page<T> {
  const more = rows.length > w.limit;
  const slice = rows.slice(0, w.limit);
  if (w.backwards) slice.reverse();
  return {
    items: slice.map((node) => ({ cursor: encodeCursor(kind, position(node), ledger), node })),
    hasNextPage: w.backwards ? w.beforePos !== undefined : more,
    hasPreviousPage: w.backwards ? more : w.afterPos !== undefined,
  };
}
