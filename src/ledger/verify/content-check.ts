import { isUtf8 } from 'node:buffer';
import type { HashAlg } from '../merkle/index.js';
import { treeHasher } from '../merkle/index.js';
import { BinaryCopyReader, readInt64 } from './copy-out.js';
import { compareBytes, EnvelopeScanner, hexEquals, K } from './envelope-scanner.js';
import { EventChecker, type VerifyEventRow } from './event-check.js';
import type { IssueCollector } from './issues.js';
import { hex, latin1Hasher, type Latin1Hasher } from './tree-check.js';

/**
 * Events [a, b) of a ledger as binary COPY data, fields as in F. The canonical bytes come
 * after a 0x00 byte: the RFC 6962 leaf prefix, so the field is hashed where it lies.
 */
export const eventsCopySql = (ledgerId: number, a: number, b: number): string =>
  `SELECT idx, id, '\\x00'::bytea || canonical, signature, type, actor, author, resource, subsystem, result, correlation_id, parents,
          hlc_ms, hlc_logical, origin
     FROM events WHERE ledger_id = ${ledgerId} AND idx >= ${a} AND idx < ${b} ORDER BY idx`;
export const EVENT_FIELDS = 15;
/** Field positions in an events COPY tuple (`prefixedCanonical`: 0x00 and the canonical bytes). */
export const F = { idx: 0, id: 1, prefixedCanonical: 2, signature: 3, type: 4, actor: 5, author: 6, resource: 7, subsystem: 8, result: 9, correlationId: 10, parents: 11, hlcMs: 12, hlcLogical: 13, origin: 14 } as const;

/** Envelope text fields and the column each is indexed in. */
const TEXT_KEYS = Int8Array.of(K.type, K.actor, K.author, K.resource, K.subsystem, K.result, K.correlationId);
const TEXT_COLUMNS = Int8Array.of(F.type, F.actor, F.author, F.resource, F.subsystem, F.result, F.correlationId);

/** What content checks need to know about the ledger (plain data: it crosses to a worker thread). */
export interface ContentLedger {
  origin: string;
  hashAlg: HashAlg;
  /** See EventChecker's serverDids. */
  serverDids: readonly string[];
}

/**
 * The checks of each event on its own (EventChecker's: canonical envelope of this ledger,
 * leaf hash = id, columns = envelope, signature) over a page of events in binary COPY form.
 * An event whose bytes the EnvelopeScanner recognises and whose columns equal them byte for
 * byte — nearly all of them — is checked without building a string, an object or a Buffer
 * per field; anything else goes through EventChecker, which finds and words the problem.
 * It needs nothing from other events, so pages can be checked anywhere (see ContentChecks).
 */
export class ContentChecker {
  private readonly scanner = new EnvelopeScanner();
  private readonly origin: Buffer;
  private readonly checker: EventChecker;
  private readonly h: Latin1Hasher;
  private readonly serverDidLengths: ReadonlySet<number>;

  constructor(
    ledger: ContentLedger,
    private readonly issues: IssueCollector,
  ) {
    this.origin = Buffer.from(ledger.origin, 'utf8');
    this.serverDidLengths = new Set(ledger.serverDids.map((d) => d.length));
    const hasher = treeHasher(ledger.hashAlg);
    this.checker = new EventChecker(ledger, hasher, issues, ledger.serverDids);
    this.h = latin1Hasher(hasher);
  }

  /** Checks every event in a page of events COPY data; returns how many. */
  checkPage(page: Buffer): number {
    const rows = new BinaryCopyReader(page, EVENT_FIELDS);
    let n = 0;
    while (rows.next()) {
      const index = readInt64(rows.view, rows.start[F.idx]!);
      if (!this.fast(page, rows.view, rows.start, rows.len, index)) this.checker.check(rowOf(page, rows.start, rows.len), index);
      n++;
    }
    return n;
  }

  private fast(buf: Buffer, view: DataView, start: Int32Array, len: Int32Array, index: number): boolean {
    if (len[F.id] !== 32 || len[F.parents]! < 0 || len[F.hlcMs] !== 8 || len[F.hlcLogical] !== 4 || len[F.prefixedCanonical]! < 2) return false;
    const cs = start[F.prefixedCanonical]! + 1;
    const ce = cs - 1 + len[F.prefixedCanonical]!;
    const sc = this.scanner;
    if (!sc.scan(buf, cs, ce)) return false;
    if (sc.nonAscii && !isUtf8(buf.subarray(cs, ce))) return false;

    const ls = sc.textStart[K.ledger]!;
    const ll = sc.textEnd[K.ledger]! - ls;
    if (len[F.origin]! < 0) {
      // The ledger's own event.
      const origin = this.origin;
      if (ll !== origin.length) return false;
      for (let i = 0; i < ll; i++) if (buf[ls + i] !== origin[i]) return false;
    } else if (ll !== len[F.origin] || compareBytes(buf, ls, ls + ll, start[F.origin]!, start[F.origin]! + ll) !== 0) {
      return false;
    }
    for (let i = 0; i < TEXT_KEYS.length; i++) {
      const key = TEXT_KEYS[i]!;
      const col = TEXT_COLUMNS[i]!;
      const s = sc.textStart[key]!;
      if (s < 0) {
        if (len[col] !== -1) return false;
      } else if (len[col] !== sc.textEnd[key]! - s || compareBytes(buf, s, sc.textEnd[key]!, start[col]!, start[col]! + len[col]!) !== 0) {
        return false;
      }
    }
    const ps = start[F.parents]!;
    if (len[F.parents] !== 32 * sc.parentCount) return false;
    // Also what makes the envelope's parents lowercase hex (the scanner leaves that to us).
    for (let i = 0; i < sc.parentCount; i++) if (!hexEquals(buf, sc.parentStart[i]!, ps + 32 * i)) return false;
    if (readInt64(view, start[F.hlcMs]!) !== sc.hlcMs || view.getInt32(start[F.hlcLogical]!) !== sc.hlcLogical) return false;

    // Recognised, and every column agrees. What is left: the hash and the signature.
    const leaf = this.h.leaf(buf.subarray(cs - 1, ce));
    const ids = start[F.id]!;
    let same = true;
    for (let i = 0; i < 32; i++) if (leaf.charCodeAt(i) !== buf[ids + i]) same = false;
    if (!same) {
      const id = buf.toString('hex', ids, ids + 32);
      this.issues.event('EVENT_HASH_MISMATCH', index, `event ${index}: stored id ${id} is not the leaf hash of its canonical bytes (${hex(leaf)})`);
    }
    const as = sc.textStart[K.author]!;
    if (len[F.signature]! >= 0) {
      const ss = start[F.signature]!;
      this.checker.checkSignature(
        as < 0 ? undefined : buf.toString('utf8', as, sc.textEnd[K.author]!),
        buf.subarray(cs, ce),
        buf.subarray(ss, ss + len[F.signature]!),
        index,
      );
    } else if (as >= 0 && this.serverDidLengths.has(sc.textEnd[K.author]! - as)) {
      this.checker.checkUnsigned(buf.toString('utf8', as, sc.textEnd[K.author]!), buf.toString('utf8', ls, ls + ll), index);
    }
    return true;
  }
}

function rowOf(buf: Buffer, start: Int32Array, len: Int32Array): VerifyEventRow {
  const bytes = (f: number) => (len[f]! < 0 ? null : buf.subarray(start[f]!, start[f]! + len[f]!));
  const text = (f: number) => (len[f]! < 0 ? null : buf.toString('utf8', start[f]!, start[f]! + len[f]!));
  return {
    idx: buf.readBigInt64BE(start[F.idx]!).toString(),
    id: bytes(F.id) ?? Buffer.alloc(0),
    canonical: len[F.prefixedCanonical]! < 1 ? Buffer.alloc(0) : buf.subarray(start[F.prefixedCanonical]! + 1, start[F.prefixedCanonical]! + len[F.prefixedCanonical]!),
    signature: bytes(F.signature),
    type: text(F.type) ?? '',
    actor: text(F.actor) ?? '',
    author: text(F.author),
    resource: text(F.resource),
    subsystem: text(F.subsystem),
    result: text(F.result),
    correlation_id: text(F.correlationId),
    parents: bytes(F.parents) ?? Buffer.alloc(0),
    hlc_ms: len[F.hlcMs] === 8 ? buf.readBigInt64BE(start[F.hlcMs]!).toString() : '0',
    hlc_logical: len[F.hlcLogical] === 4 ? buf.readInt32BE(start[F.hlcLogical]!) : 0,
    origin: text(F.origin),
  };
}
