import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** A subscription whose messages accumulate in `received`; `until(n)` waits for n of them. */
export function collect<T>(url: string, query: string, variables?: Record<string, unknown>, connectionParams?: Record<string, unknown>) {
  const client: Client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams, lazy: false });
  const received: T[] = [];
  const errors: unknown[] = [];
  const waiters: Array<() => void> = [];
  let acknowledged!: () => void;
  const connected = new Promise<void>((r) => (acknowledged = r));
  client.on('connected', () => acknowledged());
  const stop = client.subscribe<T>(
    { query, variables },
    {
      next: (v) => {
        if (v.errors) errors.push(v.errors);
        else received.push(v.data as T);
        waiters.splice(0).forEach((w) => w());
      },
      error: (e) => {
        errors.push(e);
        waiters.splice(0).forEach((w) => w());
      },
      complete: () => {},
    },
  );
  return {
    received,
    errors,
    connected,
    async until(n: number, timeoutMs = 20_000): Promise<T[]> {
      const deadline = Date.now() + timeoutMs;
      while (received.length < n) {
        if (errors.length) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
        if (Date.now() > deadline) throw new Error(`got ${received.length} of ${n} messages`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
      return received.slice(0, n);
    },
    async close() {
      stop();
      await client.dispose();
    },
  };
}

/** What one operation over the socket brought back: a `next` result, or the errors of an `error` message. */
export interface WsAnswer {
  result?: { data?: any; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

/**
 * One query or mutation over graphql-transport-ws on a connection of its own. A closed socket
 * rejects: a well-behaved server answers a bad operation with a message, not by hanging up.
 */
export async function wsRequest(url: string, body: { query: string; variables?: Record<string, unknown>; operationName?: string }, connectionParams?: Record<string, unknown>): Promise<WsAnswer> {
  const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams, lazy: true });
  try {
    return await new Promise<WsAnswer>((resolve, reject) => {
      const answer: WsAnswer = {};
      client.subscribe(body, {
        next: (r) => (answer.result = r as WsAnswer['result']),
        error: (e) => (Array.isArray(e) ? resolve({ errors: e }) : reject(new Error(`socket closed: ${(e as { code?: number; reason?: string }).code} ${(e as { reason?: string }).reason ?? ''}`))),
        complete: () => resolve(answer),
      });
    });
  } finally {
    await client.dispose();
  }
}
