import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FrameBatch } from '../../src/server/ws-frames.js';

/** A TCP socket that keeps what is written to it. */
function fakeSocket() {
  const socket = Object.assign(new EventEmitter(), { writableNeedDrain: false, written: [] as Buffer[] });
  return Object.assign(socket, { write: (b: Buffer) => socket.written.push(Buffer.from(b)) });
}

/** The unmasked frames in `out` (RFC 6455 §5.2): first byte and payload of each. */
function frames(out: Buffer) {
  const found: Array<{ first: number; payload: string }> = [];
  for (let at = 0; at < out.length; ) {
    const first = out[at]!;
    let n = out[at + 1]!;
    at += 2;
    expect(n & 0x80, 'a server frame is not masked').toBe(0);
    if (n === 126) {
      n = out.readUInt16BE(at);
      at += 2;
    } else if (n === 127) {
      n = Number(out.readBigUInt64BE(at));
      at += 8;
    }
    found.push({ first, payload: out.subarray(at, at + n).toString() });
    at += n;
  }
  return found;
}

const flushed = () => new Promise((r) => setImmediate(r));

describe('WebSocket frames written in batches', () => {
  it('writes the messages of a turn as one buffer of text frames, each length in its shortest form', async () => {
    const socket = fakeSocket();
    const batch = new FrameBatch(socket as unknown as Socket, () => true);
    // Each side of the two length boundaries (126: 16-bit length; 65 536: 64-bit length).
    const sizes = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000];
    const messages = sizes.map((n, i) => String.fromCharCode(97 + i).repeat(n));
    for (const m of messages) batch.add(Buffer.from(m));
    batch.add(Buffer.from('{"id":'), Buffer.from('"7"'), Buffer.from('}'));
    expect(socket.written).toEqual([]);
    await flushed();
    expect(socket.written).toHaveLength(1);
    const out = socket.written[0]!;
    expect(frames(out)).toEqual([...messages, '{"id":"7"}'].map((payload) => ({ first: 0x81, payload })));
    const headers = sizes.map((n) => (n < 126 ? 2 : n < 65_536 ? 4 : 10));
    expect(out.length).toBe(sizes.reduce((sum, n, i) => sum + n + headers[i]!, 0) + 2 + 10);
  });

  it('writes nothing once the connection is closing', async () => {
    const socket = fakeSocket();
    let open = true;
    const batch = new FrameBatch(socket as unknown as Socket, () => open);
    batch.add(Buffer.from('late'));
    open = false;
    await flushed();
    expect(socket.written).toEqual([]);
  });

  it('paces a producer: writes out 64 KiB queued at once, and waits while the socket needs draining until it drains or closes', async () => {
    const socket = fakeSocket();
    const batch = new FrameBatch(socket as unknown as Socket, () => true);
    batch.add(Buffer.alloc(1000, 'x'));
    expect(batch.backlog()).toBeUndefined();
    expect(socket.written).toEqual([]);
    batch.add(Buffer.alloc(64 * 1024, 'y'));
    expect(batch.backlog()).toBeUndefined();
    expect(frames(socket.written[0]!).map((f) => f.payload.length)).toEqual([1000, 64 * 1024]);

    socket.writableNeedDrain = true;
    for (const event of ['drain', 'close']) {
      let done = false;
      void batch.backlog()!.then(() => (done = true));
      await flushed();
      expect(done, event).toBe(false);
      socket.emit(event);
      await flushed();
      expect(done, event).toBe(true);
    }
    expect(socket.listenerCount('drain') + socket.listenerCount('close')).toBe(0);
  });
});
