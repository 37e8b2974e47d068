/**
 * `COPY (query) TO STDOUT (FORMAT binary)` over a node-postgres client, for the event stream:
 * the rows arrive as raw bytes (no hex text for bytea, no string per column, no row
 * object), which makes reading the ledger several times cheaper than a SELECT. It is a
 * node-postgres "submittable" (the interface pg-cursor and pg-copy-streams use).
 */
export class CopyOutQuery {
  readonly promise: Promise<Buffer>;
  private resolve!: (b: Buffer) => void;
  private reject!: (e: unknown) => void;
  private data: Buffer;
  private length = 0;
  private settled = false;

  /**
   * `shared`: deliver the data in a SharedArrayBuffer (to hand to a worker thread without a
   * copy). `sizeHint`: the bytes expected, to allocate once rather than grow.
   */
  constructor(
    readonly text: string,
    private readonly shared = false,
    sizeHint = 1 << 16,
  ) {
    this.data = Buffer.allocUnsafe(Math.max(1 << 12, sizeHint));
    this.promise = new Promise<Buffer>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  submit(connection: { query(text: string): void }): void {
    connection.query(this.text);
  }

  handleCopyData(msg: { chunk: Buffer }): void {
    // The chunk is a view into the protocol parser's buffer, reused later: copy it out now.
    const chunk = msg.chunk;
    if (this.length + chunk.length > this.data.length) {
      let size = this.data.length * 2;
      while (size < this.length + chunk.length) size *= 2;
      const bigger = Buffer.allocUnsafe(size);
      bigger.set(this.data.subarray(0, this.length));
      this.data = bigger;
    }
    this.data.set(chunk, this.length);
    this.length += chunk.length;
  }

  handleError(error: unknown): void {
    // The client drops a query as soon as it fails; nothing else will reach it.
    this.settle(() => this.reject(error));
  }

  handleReadyForQuery(): void {
    this.settle(() => {
      if (!this.shared) return this.resolve(this.data.subarray(0, this.length));
      // Row by row into shared memory is slower than into plain memory and one copy at the end.
      const shared = Buffer.from(new SharedArrayBuffer(this.length));
      shared.set(this.data.subarray(0, this.length));
      this.resolve(shared);
    });
  }

  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {}

  private settle(f: () => void): void {
    if (this.settled) return;
    this.settled = true;
    f();
  }
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/**
 * Walks PostgreSQL's binary COPY format: after the header, each tuple is a 16-bit field
 * count and, per field, a 32-bit length (-1 for NULL) and that many bytes; a count of -1 ends
 * the data. `next()` fills `start` and `len` for the tuple's fields; no allocation per row.
 */
export class BinaryCopyReader {
  readonly start: Int32Array;
  readonly len: Int32Array;
  /** The same bytes, for big-endian reads (a DataView's are several times cheaper than a Buffer's). */
  readonly view: DataView;
  private pos: number;

  constructor(
    readonly buf: Buffer,
    readonly fields: number,
  ) {
    this.start = new Int32Array(fields);
    this.len = new Int32Array(fields);
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    if (buf.length === 0) {
      this.pos = 0; // no data at all reads as no rows (the server always sends a header and trailer)
      return;
    }
    if (buf.length < 19 || !buf.subarray(0, 11).equals(SIGNATURE)) throw new Error('not PostgreSQL binary COPY data');
    this.pos = 19 + buf.readUInt32BE(15);
  }

  next(): boolean {
    const size = this.buf.length;
    const view = this.view;
    if (this.pos + 2 > size) return false;
    const n = view.getInt16(this.pos);
    if (n === -1) return false;
    if (n !== this.fields) throw new Error(`binary COPY tuple has ${n} fields, expected ${this.fields}`);
    let p = this.pos + 2;
    for (let i = 0; i < n; i++) {
      if (p + 4 > size) throw new Error('truncated binary COPY data');
      const len = view.getInt32(p);
      p += 4;
      this.start[i] = p;
      this.len[i] = len;
      if (len > 0) p += len;
    }
    if (p > size) throw new Error('truncated binary COPY data');
    this.pos = p;
    return true;
  }
}

/** A big-endian int8 as a number (exact below 2^53). */
export function readInt64(view: DataView, offset: number): number {
  return view.getInt32(offset) * 0x1_0000_0000 + view.getUint32(offset + 4);
}
