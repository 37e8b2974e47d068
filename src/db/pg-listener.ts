import pg from 'pg';
import type { Logger } from 'pino';

export const NOTIFY_CHANNEL = 'chainproof';

export interface Listener {
  close(): Promise<void>;
}

/**
 * LISTENs on a dedicated connection (never the pool: a pooled client would drop the LISTEN
 * when released) and reconnects after errors. After each (re)connect it calls `onConnect`, so
 * the caller can catch up on whatever was committed while it was not listening.
 */
export async function listen(
  url: string,
  onMessage: (payload: string) => void,
  onConnect: () => void,
  log: Logger,
): Promise<Listener> {
  let client: pg.Client | undefined;
  let connecting: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    // Keep-alive probes, so a connection whose peer vanished (half-open) errors and is replaced
    // instead of waiting for notifications that never come.
    const c = new pg.Client({ connectionString: url, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    c.on('notification', (n) => n.channel === NOTIFY_CHANNEL && n.payload && onMessage(n.payload));
    c.on('error', (err) => {
      log.warn({ err: err.message }, 'LISTEN connection lost; reconnecting');
      void c.end().catch(() => undefined);
      if (client === c) client = undefined;
      schedule();
    });
    connecting = c;
    try {
      await c.connect();
      await c.query(`LISTEN ${NOTIFY_CHANNEL}`);
    } catch (err) {
      void c.end().catch(() => undefined);
      throw err;
    } finally {
      connecting = undefined;
    }
    // close() came while this connected: nobody is listening any more.
    if (closed) return void (await c.end().catch(() => undefined));
    client = c;
    onConnect();
  };
  const schedule = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      connect().catch((err) => {
        if (closed) return;
        log.warn({ err: err.message }, 'LISTEN reconnect failed; retrying');
        schedule();
      });
    }, 1000);
    retry.unref();
  };

  try {
    await connect();
  } catch (e) {
    // No listener to close comes back: nothing may reconnect behind the caller's back.
    closed = true;
    clearTimeout(retry);
    throw e;
  }
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await Promise.all([client, connecting].map((c) => c?.end().catch(() => undefined)));
    },
  };
}
