import type { Socket } from 'node:net';

/**
 * Unmasked WebSocket text frames (RFC 6455 §5.2) for one connection, gathered during a turn of
 * the event loop and written to the TCP socket as one buffer. Per message that is a few array
 * slots instead of `ws`'s header buffer, payload buffer and two stream writes — which, times
 * every subscriber, is what a fan-out of thousands of messages a second spends its time on.
 * A message is given in UTF-8 parts (e.g. a per-subscriber head and a payload encoded once for
 * all subscribers) that are copied into the output, never concatenated or encoded again.
 */
export class FrameBatch {
  private readonly parts: Uint8Array[] = [];
  /** `ends[i]`: index in `parts` just after message i. */
  private readonly ends: number[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(
    private readonly socket: Socket,
    /** Whether frames may still be written (false once a close frame has been sent). */
    private readonly open: () => boolean,
  ) {}

  /** Queues one text message, the concatenation of the UTF-8 parts given, after everything queued before it. */
  add(a: Uint8Array, b?: Uint8Array, c?: Uint8Array): void {
    this.parts.push(a);
    this.bytes += a.length;
    if (b !== undefined) {
      this.parts.push(b);
      this.bytes += b.length;
    }
    if (c !== undefined) {
      this.parts.push(c);
      this.bytes += c.length;
    }
    this.ends.push(this.parts.length);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * For a producer that can wait (a replay): undefined while the peer keeps up, else a promise
   * of when the socket has drained. Without it a replay would queue a whole backlog at once.
   */
  backlog(): Promise<void> | undefined {
    if (this.bytes >= FLUSH_BYTES) this.flush();
    if (!this.socket.writableNeedDrain) return undefined;
    return new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Writes what is queued now; call before anything else writes to the socket, such as a close frame. */
  flush(): void {
    this.scheduled = false;
    if (this.ends.length === 0) return;
    const out = this.open() ? encodeFrames(this.parts, this.ends) : undefined;
    // The same arrays serve the next turn: fan-out should not leave garbage per connection and turn.
    this.parts.length = 0;
    this.ends.length = 0;
    this.bytes = 0;
    if (out) this.socket.write(out);
  }
}

function encodeFrames(parts: Uint8Array[], ends: number[]): Buffer {
  let total = 0;
  let start = 0;
  for (const end of ends) {
    let n = 0;
    for (let i = start; i < end; i++) n += parts[i]!.length;
    total += headerSize(n) + n;
    start = end;
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  start = 0;
  for (const end of ends) {
    let n = 0;
    for (let i = start; i < end; i++) n += parts[i]!.length;
    at = writeHeader(out, at, n);
    for (let i = start; i < end; i++) {
      out.set(parts[i]!, at);
      at += parts[i]!.length;
    }
    start = end;
  }
  return out;
}

/** Queued bytes at which `backlog` writes them out rather than wait for the end of the turn. */
const FLUSH_BYTES = 64 * 1024;

function headerSize(n: number): number {
  return n < 126 ? 2 : n < 65_536 ? 4 : 10;
}

/** FIN + text opcode, then the payload length in the shortest form; server frames are not masked. */
function writeHeader(out: Buffer, at: number, n: number): number {
  out[at] = 0x81;
  if (n < 126) {
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 65_536) {
    out[at + 1] = 126;
    out.writeUInt16BE(n, at + 2);
    return at + 4;
  }
  out[at + 1] = 127;
  out.writeUInt32BE(Math.floor(n / 2 ** 32), at + 2);
  out.writeUInt32BE(n >>> 0, at + 6);
  return at + 10;
}
