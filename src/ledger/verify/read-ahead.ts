/**
 * Rows of one table in key order, fetched a page at a time (keyset pagination) in the
 * background, ahead of what the verifier has consumed: `want(size)` says how far the event
 * stream is about to go, so the pages it will need are queued on the connection early,
 * interleaved with the event pages rather than after them.
 */
export class ReadAhead<T> {
  private buffer: T[] = [];
  private pos = 0;
  private last: T | undefined;
  private done = false;
  private target = -Infinity;
  private loop: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private stopped = false;

  constructor(
    private readonly fetchPage: (after: T | undefined, limit: number) => Promise<T[]>,
    private readonly limit: number,
    /** The tree size a row belongs at (a block's or checkpoint's tree size). */
    private readonly sizeOf: (row: T) => number,
  ) {}

  /** Starts fetching until a row beyond `size` is buffered (or the table ends). */
  want(size: number): void {
    if (size > this.target) this.target = size;
    if (!this.loop && !this.done && !this.stopped) {
      this.loop = this.run().finally(() => {
        this.loop = undefined;
      });
    }
  }

  /**
   * The next rows in key order with size <= `size`; with `straddle`, also the first row beyond
   * it (a block that starts inside the page but ends after it). Stops at the first row that
   * does not qualify, so rows out of size order are returned only when reached.
   */
  async take(size: number, straddle: boolean): Promise<T[]> {
    for (;;) {
      if (this.failure) throw this.failure.error;
      const ready = this.done || this.buffer.slice(this.pos).some((r) => this.sizeOf(r) > size);
      if (ready) break;
      if (this.stopped) throw new Error('read-ahead stopped');
      this.want(size);
      await this.loop;
    }
    const out: T[] = [];
    while (this.pos < this.buffer.length) {
      const row = this.buffer[this.pos]!;
      if (this.sizeOf(row) > size) {
        if (straddle && (out.length === 0 || this.sizeOf(out[out.length - 1]!) < size)) {
          out.push(row);
          this.pos++;
        }
        break;
      }
      out.push(row);
      this.pos++;
    }
    if (this.pos > 4096) {
      this.buffer = this.buffer.slice(this.pos);
      this.pos = 0;
    }
    return out;
  }

  /** Stops fetching; resolves once no query of this reader is in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    try {
      while (!this.done && !this.stopped && (this.last === undefined || this.sizeOf(this.last) <= this.target)) {
        const page = await this.fetchPage(this.last, this.limit);
        if (page.length > 0) {
          this.buffer.push(...page);
          this.last = page[page.length - 1];
        }
        if (page.length < this.limit) this.done = true;
      }
    } catch (error) {
      this.failure = { error };
    }
  }
}
