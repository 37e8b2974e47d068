import { MAX_PARENTS, MAX_TEXT_FIELD } from '../events/envelope.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const MAX_DEPTH = 64;

// Envelope keys in RFC 8785 order (UTF-16 code units; all ASCII, so byte order).
const KEYS = ['actor', 'author', 'correlationId', 'hlc', 'ledger', 'parents', 'payload', 'resource', 'result', 'subsystem', 'type'] as const;
const KEY_BYTES = KEYS.map((k) => Buffer.from(k, 'latin1'));
/** Index of each envelope key in KEYS (and in EnvelopeScanner's textStart/textEnd). */
export const K = {
  actor: 0,
  author: 1,
  correlationId: 2,
  hlc: 3,
  ledger: 4,
  parents: 5,
  payload: 6,
  resource: 7,
  result: 8,
  subsystem: 9,
  type: 10,
} as const;
const HLC_LOGICAL = Buffer.from('{"logical":', 'latin1');
const HLC_PHYSICAL = Buffer.from(',"physicalMs":', 'latin1');
/** 2^53 - 1 has 16 digits; 15 or fewer are always safe. */
const SAFE_DIGITS = 15;

/**
 * Byte-level recogniser for the common case of a canonical envelope: it accepts only bytes
 * that parseCanonical would accept — RFC 8785 form (no whitespace, keys in order, numbers in
 * shortest round-trip form, strings exactly as JSON.stringify writes them), the envelope's
 * keys and field rules — and records where each field is, without building a string or an
 * object. It is conservative: strings with escapes, non-ASCII text in length-limited fields,
 * non-ASCII object keys, an hlc with extra members, deep nesting… are simply not recognised,
 * and the caller then runs the full parseCanonical path, which decides. So recognition is
 * sound by construction, and the JSON parser stays the authority on everything unusual.
 *
 * The UTF-8 validity of the bytes is not checked here (see `nonAscii`).
 */
export class EnvelopeScanner {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;
  /** Some byte >= 0x80 was seen (then the caller must check the bytes are UTF-8). */
  nonAscii = false;
  private stringAscii = true;

  /** [start, end) of each text field's contents in the buffer; start -1 when absent. */
  readonly textStart = new Int32Array(KEYS.length);
  readonly textEnd = new Int32Array(KEYS.length);
  /** Offsets of each parent's 64 hex digits. */
  readonly parentStart = new Int32Array(MAX_PARENTS);
  parentCount = 0;
  hlcMs = 0;
  hlcLogical = 0;

  /** Whether buf[start, end) is recognised as a canonical envelope; fields are then set. */
  scan(buf: Buffer, start: number, end: number): boolean {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.nonAscii = false;
    this.textStart.fill(-1);
    this.parentCount = -1;
    this.hlcMs = -1;
    if (!this.byte(LBRACE)) return false;
    let last = -1;
    for (;;) {
      const ks = this.pos + 1;
      if (!this.string()) return false;
      const key = this.topKey(ks, this.pos - 1);
      if (key < 0 || key <= last) return false;
      last = key;
      if (!this.byte(COLON)) return false;
      switch (key) {
        case K.hlc:
          if (!this.hlc()) return false;
          break;
        case K.parents:
          if (!this.parents()) return false;
          break;
        case K.payload:
          if (!this.value(0)) return false;
          break;
        default: {
          const s = this.pos + 1;
          if (!this.string()) return false;
          const e = this.pos - 1;
          // Length limits count UTF-16 units; for ASCII that is the byte count. Others: the slow path.
          if (key !== K.ledger) {
            if (!this.stringAscii) return false;
            const max = key === K.type ? 128 : MAX_TEXT_FIELD;
            if (e - s > max || ((key === K.type || key === K.actor) && e === s)) return false;
          }
          this.textStart[key] = s;
          this.textEnd[key] = e;
        }
      }
      if (this.pos >= this.end) return false;
      const c = this.buf[this.pos++];
      if (c === RBRACE) break;
      if (c !== COMMA) return false;
    }
    return (
      this.pos === this.end &&
      this.textStart[K.ledger] >= 0 &&
      this.textStart[K.type] >= 0 &&
      this.textStart[K.actor] >= 0 &&
      this.parentCount >= 0 &&
      this.hlcMs >= 0
    );
  }

  /** The KEYS index of the key bytes [s, e), or -1 if not an envelope key. */
  private topKey(s: number, e: number): number {
    const buf = this.buf;
    for (let k = 0; k < KEY_BYTES.length; k++) {
      const key = KEY_BYTES[k]!;
      if (key.length !== e - s) continue;
      let i = 0;
      while (i < key.length && buf[s + i] === key[i]) i++;
      if (i === key.length) return k;
    }
    return -1;
  }

  private byte(b: number): boolean {
    if (this.pos < this.end && this.buf[this.pos] === b) {
      this.pos++;
      return true;
    }
    return false;
  }

  private literal(bytes: Buffer): boolean {
    if (this.pos + bytes.length > this.end) return false;
    for (let i = 0; i < bytes.length; i++) if (this.buf[this.pos + i] !== bytes[i]) return false;
    this.pos += bytes.length;
    return true;
  }

  /** A string with no escapes and no control characters: exactly how JSON.stringify writes it. */
  private string(): boolean {
    const buf = this.buf;
    let p = this.pos;
    if (p >= this.end || buf[p] !== QUOTE) return false;
    p++;
    let ascii = true;
    for (;;) {
      if (p >= this.end) return false;
      const c = buf[p]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH || c < 0x20) return false;
      if (c >= 0x80) ascii = false;
      p++;
    }
    this.pos = p + 1;
    this.stringAscii = ascii;
    if (!ascii) this.nonAscii = true;
    return true;
  }

  private value(depth: number): boolean {
    if (this.pos >= this.end) return false;
    const c = this.buf[this.pos]!;
    if (c === QUOTE) return this.string();
    if (c === LBRACE) return depth < MAX_DEPTH && this.object(depth + 1);
    if (c === LBRACKET) return depth < MAX_DEPTH && this.array(depth + 1);
    if (c === MINUS || (c >= ZERO && c <= NINE)) return this.number();
    if (c === 0x74) return this.literal(TRUE);
    if (c === 0x66) return this.literal(FALSE);
    if (c === 0x6e) return this.literal(NULL);
    return false;
  }

  private object(depth: number): boolean {
    const buf = this.buf;
    this.pos++;
    if (this.byte(RBRACE)) return true;
    let prevS = -1;
    let prevE = -1;
    for (;;) {
      const s = this.pos + 1;
      if (!this.string() || !this.stringAscii) return false;
      const e = this.pos - 1;
      // Strictly increasing keys (for ASCII, byte order is UTF-16 order); also rules out duplicates.
      if (prevS >= 0 && compareBytes(buf, prevS, prevE, s, e) >= 0) return false;
      prevS = s;
      prevE = e;
      if (!this.byte(COLON) || !this.value(depth)) return false;
      if (this.byte(RBRACE)) return true;
      if (!this.byte(COMMA)) return false;
    }
  }

  private array(depth: number): boolean {
    this.pos++;
    if (this.byte(RBRACKET)) return true;
    for (;;) {
      if (!this.value(depth)) return false;
      if (this.byte(RBRACKET)) return true;
      if (!this.byte(COMMA)) return false;
    }
  }

  /** JSON number syntax, in the form Number.prototype.toString gives back. */
  private number(): boolean {
    const buf = this.buf;
    const s = this.pos;
    let p = s;
    const negative = buf[p] === MINUS;
    if (negative) p++;
    const intStart = p;
    if (p >= this.end) return false;
    if (buf[p] === ZERO) p++;
    else if (buf[p]! > ZERO && buf[p]! <= NINE) while (p < this.end && buf[p]! >= ZERO && buf[p]! <= NINE) p++;
    else return false;
    const intDigits = p - intStart;
    let plain = true;
    if (p < this.end && buf[p] === DOT) {
      plain = false;
      p++;
      const f = p;
      while (p < this.end && buf[p]! >= ZERO && buf[p]! <= NINE) p++;
      if (p === f) return false;
    }
    if (p < this.end && (buf[p] === 0x65 || buf[p] === 0x45)) {
      plain = false;
      p++;
      if (p < this.end && (buf[p] === PLUS || buf[p] === MINUS)) p++;
      const f = p;
      while (p < this.end && buf[p]! >= ZERO && buf[p]! <= NINE) p++;
      if (p === f) return false;
    }
    this.pos = p;
    if (plain && intDigits <= SAFE_DIGITS) return !(negative && buf[intStart] === ZERO); // "-0" prints as "0"
    const literal = buf.toString('latin1', s, p);
    const n = Number(literal);
    return Number.isFinite(n) && String(n) === literal;
  }

  /** Exactly {"logical":<int>,"physicalMs":<int>} (anything else: the slow path). */
  private hlc(): boolean {
    if (!this.literal(HLC_LOGICAL)) return false;
    const logical = this.integer(10);
    if (logical < 0 || logical > 0x7fffffff) return false;
    if (!this.literal(HLC_PHYSICAL)) return false;
    const ms = this.integer(SAFE_DIGITS);
    if (ms < 0 || !this.byte(RBRACE)) return false;
    this.hlcLogical = logical;
    this.hlcMs = ms;
    return true;
  }

  /** A non-negative integer without leading zeros, at most `maxDigits` digits; -1 if not. */
  private integer(maxDigits: number): number {
    const buf = this.buf;
    const s = this.pos;
    let p = s;
    let v = 0;
    while (p < this.end && buf[p]! >= ZERO && buf[p]! <= NINE) {
      v = v * 10 + (buf[p]! - ZERO);
      p++;
    }
    const digits = p - s;
    if (digits === 0 || digits > maxDigits || (digits > 1 && buf[s] === ZERO)) return -1;
    // A following fraction or exponent would make it another number.
    if (p < this.end && (buf[p] === DOT || buf[p] === 0x65 || buf[p] === 0x45)) return -1;
    this.pos = p;
    return v;
  }

  /**
   * ["<64 characters>",…], at most MAX_PARENTS, no repeats. The characters are not checked to
   * be lowercase hex here: a caller accepting the result must (CopyEventChecker compares them
   * with the hex of the parents column, which is lowercase hex by construction).
   */
  private parents(): boolean {
    const buf = this.buf;
    if (!this.byte(LBRACKET)) return false;
    let n = 0;
    if (!this.byte(RBRACKET)) {
      for (;;) {
        const p = this.pos;
        if (n >= MAX_PARENTS || p + 66 > this.end || buf[p] !== QUOTE || buf[p + 65] !== QUOTE) return false;
        for (let j = 0; j < n; j++) if (compareBytes(buf, this.parentStart[j]!, this.parentStart[j]! + 64, p + 1, p + 65) === 0) return false;
        this.parentStart[n++] = p + 1;
        this.pos = p + 66;
        if (this.byte(RBRACKET)) break;
        if (!this.byte(COMMA)) return false;
      }
    }
    this.parentCount = n;
    return true;
  }
}

const TRUE = Buffer.from('true', 'latin1');
const FALSE = Buffer.from('false', 'latin1');
const NULL = Buffer.from('null', 'latin1');

/** Lexicographic comparison of two byte ranges of one buffer. */
export function compareBytes(buf: Buffer, as: number, ae: number, bs: number, be: number): number {
  const n = Math.min(ae - as, be - bs);
  for (let i = 0; i < n; i++) {
    const d = buf[as + i]! - buf[bs + i]!;
    if (d !== 0) return d;
  }
  return ae - as - (be - bs);
}

/** Whether the 64 hex digits at `hex` spell the 32 bytes at `bytes` (lowercase only). */
export function hexEquals(buf: Buffer, hex: number, bytes: number): boolean {
  for (let i = 0; i < 32; i++) {
    const b = buf[bytes + i]!;
    if (buf[hex + 2 * i] !== HEX_DIGITS[b >> 4] || buf[hex + 2 * i + 1] !== HEX_DIGITS[b & 15]) return false;
  }
  return true;
}
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
