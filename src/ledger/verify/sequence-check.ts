import { F } from './content-check.js';
import { readInt64 } from './copy-out.js';
import { IdIndex, viewOf } from './id-index.js';
import type { IssueCollector } from './issues.js';
import type { Snapshot } from './snapshot.js';

const missing = (from: number, to: number): string => (from === to ? `event ${from} is missing` : `events ${from}..${to} are missing`);

/**
 * How events fit together, in index order: indexes 0, 1, 2… without a gap, every parent an
 * earlier event, every HLC after its parents'. Read from the columns (the indexed copies of
 * the envelope's fields, which ContentChecker checks equal to it), so this runs apart from the
 * content checks. Parents not seen yet when their child is are settled at the end: later in
 * the ledger (PARENT_ORDER) or nowhere (MISSING_PARENT).
 */
export class SequenceChecker {
  readonly ids: IdIndex;
  /** The index the stream should deliver next. */
  private expected = 0;
  /** A gap was found: past it the tree cannot be recomputed. */
  gap = false;
  maxHlcMs = 0;
  maxHlcLogical = 0;
  private readonly deferred: Array<{ index: number; parent: Buffer }> = [];

  constructor(
    private readonly size: number,
    private readonly issues: IssueCollector,
  ) {
    this.ids = new IdIndex(size);
  }

  /** One event (a row of events COPY data); returns its id, as latin1, for the tree. */
  event(buf: Buffer, view: DataView, start: Int32Array, len: Int32Array): string {
    const issues = this.issues;
    const index = readInt64(view, start[F.idx]!);
    if (index !== this.expected) {
      if (index > this.expected) issues.event('SEQUENCE_GAP', this.expected, missing(this.expected, index - 1));
      this.gap = true;
    }
    this.expected = index + 1;

    let idView = view;
    let idOff = start[F.id]!;
    let id: string;
    if (len[F.id] === 32) id = buf.toString('latin1', idOff, idOff + 32);
    else {
      // The content checks report it; here it only has to be 32 bytes of something.
      const fixed = Buffer.alloc(32);
      if (len[F.id]! > 0) buf.copy(fixed, 0, idOff, idOff + Math.min(32, len[F.id]!));
      idView = viewOf(fixed);
      idOff = 0;
      id = fixed.toString('latin1');
    }
    const hlcMs = len[F.hlcMs] === 8 ? readInt64(view, start[F.hlcMs]!) : 0;
    const hlcLogical = len[F.hlcLogical] === 4 ? view.getInt32(start[F.hlcLogical]!) : 0;

    const ids = this.ids;
    const ps = start[F.parents]!;
    const pe = ps + Math.max(0, len[F.parents]! - (len[F.parents]! % 32));
    for (let off = ps; off < pe; off += 32) {
      const p = ids.find(view, off);
      if (p < 0) {
        // Each becomes an issue at the end: no need to keep more than could be reported.
        if (this.deferred.length < issues.remaining) this.deferred.push({ index, parent: Buffer.from(buf.subarray(off, off + 32)) });
        continue;
      }
      ids.markParent(p);
      const pMs = ids.hlcMs(p);
      if (hlcMs < pMs || (hlcMs === pMs && hlcLogical <= ids.hlcLogical(p))) {
        issues.event('HLC_ORDER', index, `event ${index}: hlc ${hlcMs}.${hlcLogical} is not after its parent ${ids.indexOf(p)}'s hlc ${pMs}.${ids.hlcLogical(p)}`);
      }
    }
    ids.add(idView, idOff, index, hlcMs, hlcLogical);
    if (hlcMs > this.maxHlcMs || (hlcMs === this.maxHlcMs && hlcLogical > this.maxHlcLogical)) {
      this.maxHlcMs = hlcMs;
      this.maxHlcLogical = hlcLogical;
    }
    return id;
  }

  /** After the last event: a gap at the end, and the parents left unresolved. */
  finish(): void {
    const issues = this.issues;
    if (this.expected < this.size) {
      issues.event('SEQUENCE_GAP', this.expected, missing(this.expected, this.size - 1));
      this.gap = true;
    }
    for (const d of this.deferred) {
      const p = this.ids.find(viewOf(d.parent), 0);
      if (p < 0) {
        issues.event('MISSING_PARENT', d.index, `event ${d.index}: parent ${d.parent.toString('hex')} is not in the ledger`);
      } else {
        this.ids.markParent(p);
        issues.event('PARENT_ORDER', d.index, `event ${d.index}: parent ${d.parent.toString('hex')} comes later, at index ${this.ids.indexOf(p)}`);
      }
    }
  }

  /** Whether `tips` (concatenated ids) lists exactly the events nobody names as a parent, in index order. */
  tipsAre(tips: Buffer): boolean {
    if (tips.length % 32 !== 0) return false;
    const view = viewOf(tips);
    let k = 0;
    for (let p = 0; p < this.ids.size; p++) {
      if (this.ids.isParent(p)) continue;
      if (k + 32 > tips.length || !this.ids.equalsAt(p, view, k)) return false;
      k += 32;
    }
    return k === tips.length;
  }
}

/**
 * Events outside the head's sequence [0, size): reported as UNSEQUENCED_EVENT, at most `limit`.
 * Two index range scans (as one `idx >= n OR idx < 0` the planner walks the whole index).
 */
export async function reportUnsequenced(db: Snapshot, ledgerId: number, size: number, issues: IssueCollector): Promise<void> {
  const limit = Math.max(1, issues.remaining);
  const rows = await db.query<{ idx: string }>(
    `(SELECT idx FROM events WHERE ledger_id = $1 AND idx < 0 ORDER BY idx LIMIT ${limit})
     UNION ALL (SELECT idx FROM events WHERE ledger_id = $1 AND idx >= $2 ORDER BY idx LIMIT ${limit})`,
    [ledgerId, size],
  );
  for (const r of rows) issues.event('UNSEQUENCED_EVENT', Number(r.idx), `event ${r.idx} is outside the head's ${size} sequenced events`);
}
