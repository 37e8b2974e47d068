const ID_BYTES = 32;
const CHUNK_BITS = 16;
const CHUNK = 1 << CHUNK_BITS;

interface Chunk {
  ids: DataView;
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
 * finds a position by id. Ids are read and written through DataViews, whose accessors cost a
 * fraction of a Buffer's.
 */
export class IdIndex {
  private readonly chunks: Chunk[] = [];
  private table: Uint32Array;
  private mask: number;
  private n = 0;
  /** Stream position -> event index where they differ (only after a sequence gap). */
  private readonly breaks: Array<{ position: number; index: number }> = [];

  /** `expected`: how many ids are coming, to size the table once (it still grows past that). */
  constructor(expected = 0) {
    let size = 1 << 12;
    while (size < 2 * expected && size < 1 << 27) size *= 2;
    this.table = new Uint32Array(size);
    this.mask = size - 1;
  }

  get size(): number {
    return this.n;
  }

  /** Adds the id at `offset` in `view` as the next position; `index` is the event's stored index. */
  add(view: DataView, offset: number, index: number, hlcMs: number, hlcLogical: number): void {
    const position = this.n;
    if (position >= 0xffffffff) throw new RangeError('too many events to verify in memory');
    if (index !== this.indexOf(position)) this.breaks.push({ position, index });
    const c = position >>> CHUNK_BITS;
    let chunk = this.chunks[c];
    if (!chunk) {
      chunk = {
        ids: new DataView(new ArrayBuffer(CHUNK * ID_BYTES)),
        hlcMs: new Float64Array(CHUNK),
        hlcLogical: new Int32Array(CHUNK),
        flags: new Uint8Array(CHUNK),
      };
      this.chunks.push(chunk);
    }
    const o = position & (CHUNK - 1);
    const ids = chunk.ids;
    for (let i = 0, d = o * ID_BYTES; i < ID_BYTES; i += 4) ids.setInt32(d + i, view.getInt32(offset + i));
    chunk.hlcMs[o] = hlcMs;
    chunk.hlcLogical[o] = hlcLogical;
    this.n = position + 1;
    if (this.n * 2 > this.table.length) this.grow(); // re-inserts every position, this one too
    else this.insert(position);
  }

  /** Position of the id at `offset` in `view`, or -1. */
  find(view: DataView, offset: number): number {
    const mask = this.mask;
    const table = this.table;
    for (let slot = view.getUint32(offset) & mask; ; slot = (slot + 1) & mask) {
      const entry = table[slot]!;
      if (entry === 0) return -1;
      if (this.equalsAt(entry - 1, view, offset)) return entry - 1;
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

  /** Whether the id at `position` equals the 32 bytes at `offset` in `view`. */
  equalsAt(position: number, view: DataView, offset: number): boolean {
    const ids = this.chunks[position >>> CHUNK_BITS]!.ids;
    const o = (position & (CHUNK - 1)) * ID_BYTES;
    for (let i = 0; i < ID_BYTES; i += 4) if (ids.getInt32(o + i) !== view.getInt32(offset + i)) return false;
    return true;
  }

  private insert(position: number): void {
    const ids = this.chunks[position >>> CHUNK_BITS]!.ids;
    const mask = this.mask;
    let slot = ids.getUint32((position & (CHUNK - 1)) * ID_BYTES) & mask;
    while (this.table[slot] !== 0) slot = (slot + 1) & mask;
    this.table[slot] = position + 1;
  }

  private grow(): void {
    this.table = new Uint32Array(this.table.length * 2);
    this.mask = this.table.length - 1;
    for (let p = 0; p < this.n; p++) this.insert(p);
  }
}

/** A DataView over a Buffer's bytes. */
export const viewOf = (b: Buffer): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);
