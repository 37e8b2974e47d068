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
