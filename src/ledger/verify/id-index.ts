const ID_BYTES = 32;
const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;

interface Chunk {
  ids: Buffer;
  hlcMs: Float64Array;
  hlcLogical: Int32Array;
  /** Bit 0: some later event names this one as a parent. */
  flags: Uint8Array;
}

/**
 * Every event id seen so far, by stream position, with its HLC: what parent checks need, in
 * about 55 bytes per event and without a JS object or string per event (a Map keyed by hex
 * would cost three times that and keep the garbage collector busy). Ids live in 2 MB chunks;
 * an open-addressing table on their first 32 bits (uniformly distributed: they are hashes)
 * finds a position by id.
 */
export class IdIndex {
  private readonly chunks: Chunk[] = [];
  private table = new Uint32Array(1 << 12);
  private mask = this.table.length - 1;
  private n = 0;
  /** Stream position -> event index where they differ (only after a sequence gap). */
  private readonly breaks: Array<{ position: number; index: number }> = [];

  get size(): number {
    return this.n;
  }

  /** Adds the id in `buf` at `offset` as the next position; `index` is the event's stored index. */
  add(buf: Buffer, offset: number, index: number, hlcMs: number, hlcLogical: number): void {
    const position = this.n;
    if (position >= 0xffffffff) throw new RangeError('too many events to verify in memory');
    if (index !== this.indexOf(position)) this.breaks.push({ position, index });
    const c = position >>> CHUNK_BITS;
    let chunk = this.chunks[c];
    if (!chunk) {
      chunk = { ids: Buffer.allocUnsafe(CHUNK * ID_BYTES), hlcMs: new Float64Array(CHUNK), hlcLogical: new Int32Array(CHUNK), flags: new Uint8Array(CHUNK) };
      this.chunks.push(chunk);
    }
    const o = position & (CHUNK - 1);
    buf.copy(chunk.ids, o * ID_BYTES, offset, offset + ID_BYTES);
    chunk.hlcMs[o] = hlcMs;
    chunk.hlcLogical[o] = hlcLogical;
    this.n = position + 1;
    if (this.n * 2 > this.table.length) this.grow(); // re-inserts every position, this one too
    else this.insert(position);
  }

  /** Position of the id at `offset` in `buf`, or -1. */
  find(buf: Buffer, offset: number): number {
    const mask = this.mask;
    const table = this.table;
    for (let slot = buf.readUInt32LE(offset) & mask; ; slot = (slot + 1) & mask) {
      const entry = table[slot]!;
      if (entry === 0) return -1;
      if (this.equalsAt(entry - 1, buf, offset)) return entry - 1;
    }
  }

  /** The stored event index at a stream position. */
  indexOf(position: number): number {
    const b = this.breaks;
    if (b.length === 0 || position < b[0]!.position) return position;
    let lo = 0;
    let hi = b.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (b[mid]!.position <= position) lo = mid;
      else hi = mid - 1;
    }
    return b[lo]!.index + (position - b[lo]!.position);
  }

  hlcMs(position: number): number {
    return this.chunks[position >>> CHUNK_BITS]!.hlcMs[position & (CHUNK - 1)]!;
  }

  hlcLogical(position: number): number {
    return this.chunks[position >>> CHUNK_BITS]!.hlcLogical[position & (CHUNK - 1)]!;
  }

  markParent(position: number): void {
    this.chunks[position >>> CHUNK_BITS]!.flags[position & (CHUNK - 1)] |= 1;
  }

  isParent(position: number): boolean {
    return (this.chunks[position >>> CHUNK_BITS]!.flags[position & (CHUNK - 1)]! & 1) !== 0;
  }

  /** The id at a position, copied out. */
  id(position: number): Buffer {
    const o = (position & (CHUNK - 1)) * ID_BYTES;
    return Buffer.from(this.chunks[position >>> CHUNK_BITS]!.ids.subarray(o, o + ID_BYTES));
  }

  /** Whether the id at `position` equals `buf[offset..offset+32)`. */
  equalsAt(position: number, buf: Buffer, offset: number): boolean {
    const ids = this.chunks[position >>> CHUNK_BITS]!.ids;
    const o = (position & (CHUNK - 1)) * ID_BYTES;
    for (let i = 0; i < ID_BYTES; i += 4) {
      if (ids.readInt32LE(o + i) !== buf.readInt32LE(offset + i)) return false;
    }
    return true;
  }

  private insert(position: number): void {
    const ids = this.chunks[position >>> CHUNK_BITS]!.ids;
    const mask = this.mask;
    let slot = ids.readUInt32LE((position & (CHUNK - 1)) * ID_BYTES) & mask;
    while (this.table[slot] !== 0) slot = (slot + 1) & mask;
    this.table[slot] = position + 1;
  }

  private grow(): void {
    this.table = new Uint32Array(this.table.length * 2);
    this.mask = this.table.length - 1;
    for (let p = 0; p < this.n; p++) this.insert(p);
  }
}
