import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';
import type { Sink } from './fanout.js';
import { FrameBatch } from './ws-frames.js';

export interface WsExtra {
  socket: WebSocket;
  request: IncomingMessage;
  frames: FrameBatch;
  /** Closes the connection after the messages already queued. */
  close(code: number, reason: string): void;
}

/**
 * graphql-ws on a `ws` server, in place of graphql-ws's own `useServer`, which sends each
 * message as its own frame and write and resolves `send` only once it has left for the
 * kernel: a subscription then costs a syscall per message. Here messages are queued on the
 * connection's FrameBatch and leave together once per turn of the event loop; `send` does not
 * wait, and a consumer that does not read is cut off (4429) once `maxBufferedBytes` wait unread.
 * `ws` still does the handshake, reading, pings and close frames.
 */
export function serveGraphqlWs<P extends Record<string, unknown>>(
  options: ServerOptions<P, WsExtra>,
  wss: WebSocketServer,
  log: Logger,
  limits: { maxBufferedBytes: number; keepAliveMs?: number },
): { dispose(): Promise<void> } {
  const { maxBufferedBytes, keepAliveMs = 12_000 } = limits;
  const server = makeServer(options);
  wss.options.handleProtocols = handleProtocols;
  // Frames are written past `ws`; a compressing `ws` would interleave its own state with them.
  wss.options.perMessageDeflate = false;
  wss.on('connection', (socket, request) => {
    const frames = new FrameBatch(request.socket as Socket, () => socket.readyState === socket.OPEN);
    const close = (code: number, reason: string) => {
      frames.flush();
      socket.close(code, reason);
    };
    socket.once('error', (err) => {
      log.warn({ err }, 'WebSocket error');
      close(CloseCode.InternalServerError, 'Internal server error');
    });
    // A peer that stops answering pings is gone: free its subscriptions.
    let alive = true;
    const ping = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, keepAliveMs);
    socket.on('pong', () => (alive = true));
    const closed = server.opened(
      {
        protocol: socket.protocol,
        // Answers to queries too: a client that sends operations and reads nothing is cut off as a
        // slow subscriber is, or each answer would wait in this process's memory.
        send: (data) => {
          if (mayQueue(socket, close, maxBufferedBytes)) frames.add(Buffer.from(data));
        },
        close,
        onMessage: (cb) =>
          socket.on('message', async (data) => {
            try {
              await cb(String(data));
            } catch (err) {
              log.error({ err }, 'graphql-ws message handling failed');
              close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      { socket, request, frames, close },
    );
    socket.once('close', (code, reason) => {
      clearInterval(ping);
      void closed(code, String(reason));
    });
  });
  return {
    async dispose() {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

const CLOSING_BRACE = Buffer.from('}');

/**
 * Whether a message may be queued on an open socket: not once more than `maxBufferedBytes` were
 * written and not yet taken by the peer, which closes the connection with 4429. What this turn
 * queues (at most a page of the feed) is not counted, or one large message would look like a
 * consumer that stopped reading.
 */
function mayQueue(socket: WebSocket, close: WsExtra['close'], maxBufferedBytes: number): boolean {
  if (socket.readyState !== socket.OPEN) return false;
  if (socket.bufferedAmount <= maxBufferedBytes) return true;
  close(4429, `slow consumer: ${socket.bufferedAmount} bytes unread`);
  return false;
}

/**
 * `next` messages of subscription `id` on one connection, from payloads already serialised
 * as UTF-8 JSON (shared by every subscriber of the same event and selection): only the id is
 * per subscriber. A consumer with more than `maxBufferedBytes` unread is closed with 4429
 * rather than let grow this process's memory; the sink then reports the subscriber gone.
 */
export function nextMessages(extra: WsExtra, id: string, maxBufferedBytes: number): Sink {
  const head = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
  return {
    send(payloadJson) {
      if (!mayQueue(extra.socket, extra.close, maxBufferedBytes)) return false;
      extra.frames.add(head, payloadJson, CLOSING_BRACE);
      return true;
    },
    backlog: () => extra.frames.backlog(),
  };
}
