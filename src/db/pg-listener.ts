import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';

export const NOTIFY_CHANNEL = 'chainproof';

/**
 * What one ledger service announces on the channel, as `<topic>:<ledger>:<sender>`. The sender
 * tag lets the service's own listener pass over its own announcements: it acted on those in
 * process when it committed them, and acting again cost every commit a second round of what a
 * commit wakes (the block producer's check, the rules consumer's read, the live feed's head).
 * One per service, not per process: services sharing a process (tests, tools) hear each other.
 *
 * @example
 *   const announcer = new Announcer();
 *   announcer.sql('block', 'main', 17); // { sql: ', pg_notify($17, $18)', params: ['chainproof', 'block:main:<sender>'] }
 *   announcer.heard('block:main:<another sender>'); // { topic: 'block', ledger: 'main' }
 */
export class Announcer {
  readonly sender = randomBytes(8).toString('hex');

  constructor(readonly channel = NOTIFY_CHANNEL) {}

  payload(topic: string, ledgerName: string): string {
    return `${topic}:${ledgerName}:${this.sender}`;
  }

  /**
   * `, pg_notify($n, $n+1)` to select beside the rows a statement inserts, so other processes
   * hear of them with its commit, never without it.
   */
  sql(topic: string, ledgerName: string, firstParam: number): { sql: string; params: string[] } {
    return { sql: `, pg_notify($${firstParam}, $${firstParam + 1})`, params: [this.channel, this.payload(topic, ledgerName)] };
  }

  /**
   * What a payload heard on the channel announces, or undefined if this announcer sent it.
   * Ledger names hold no `:` (LEDGER_NAME); a payload without a sender came from an older
   * version of the server and is another's.
   */
  heard(payload: string): { topic: string; ledger: string } | undefined {
    const [topic = '', ledger = '', sender] = payload.split(':');
    return sender === this.sender ? undefined : { topic, ledger };
  }
}

/** `announcer.sql(…)`, or nothing where no one listens (no announcer). */
export function announcing(announcer: Announcer | undefined, topic: string, ledgerName: string, firstParam: number): { sql: string; params: string[] } {
  return announcer ? announcer.sql(topic, ledgerName, firstParam) : { sql: '', params: [] };
}

export interface Listener {
  close(): Promise<void>;
}

/** How often the LISTEN connection is asked for a sign of life, and how long it has to answer. */
export interface Heartbeat {
  everyMs: number;
  timeoutMs: number;
}

/**
 * LISTENs on a dedicated connection (never the pool: a pooled client would drop the LISTEN
 * when released) and reconnects after errors. After each (re)connect it calls `onConnect`, so
 * the caller can catch up on whatever was committed while it was not listening.
 *
 * A connection that stops answering without closing (its peer gone, a firewall that dropped it)
 * would wait for notifications for ever: a heartbeat query that gets no answer in time has the
 * connection torn down and made again.
 */
export async function listen(
  url: string,
  onMessage: (payload: string) => void,
  onConnect: () => void,
  log: Logger,
  heartbeat: Heartbeat = { everyMs: 15_000, timeoutMs: 10_000 },
): Promise<Listener> {
  let client: pg.Client | undefined;
  let connecting: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    // Keep-alive probes, so a connection whose peer vanished (half-open) errors and is replaced
    // instead of waiting for notifications that never come. A (re)connect gets no longer to be
    // answered than a heartbeat: one the server accepts and never answers would otherwise be waited
    // on for ever, with nothing listening meanwhile.
    const c = new pg.Client({ connectionString: url, keepAlive: true, keepAliveInitialDelayMillis: 10_000, connectionTimeoutMillis: heartbeat.timeoutMs });
    c.on('notification', (n) => n.channel === NOTIFY_CHANNEL && n.payload && onMessage(n.payload));
    let beat: NodeJS.Timeout | undefined;
    c.on('error', (err) => {
      log.warn({ err: err.message }, 'LISTEN connection lost; reconnecting');
      clearInterval(beat);
      void c.end().catch(() => undefined);
      if (client === c) client = undefined;
      schedule();
    });
    connecting = c;
    try {
      await c.connect();
      // pg reads a per-query query_timeout; its types know only the client-wide one (which would race the heartbeat's own).
      await c.query({ text: `LISTEN ${NOTIFY_CHANNEL}`, query_timeout: heartbeat.timeoutMs } as pg.QueryConfig);
    } catch (err) {
      void c.end().catch(() => undefined);
      throw err;
    } finally {
      connecting = undefined;
    }
    // close() came while this connected: nobody is listening any more.
    if (closed) return void (await c.end().catch(() => undefined));
    client = c;
    beat = setInterval(() => void alive(c), heartbeat.everyMs);
    beat.unref();
    c.once('end', () => clearInterval(beat));
    onConnect();
  };
  let answering: Promise<unknown> | undefined;
  /** One heartbeat at a time; no answer in time, and the socket is destroyed, which the 'error' handler turns into a reconnect. */
  const alive = async (c: pg.Client) => {
    if (answering) return;
    const timer = setTimeout(() => {
      log.warn({ timeoutMs: heartbeat.timeoutMs }, 'LISTEN connection stopped answering; reconnecting');
      (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    }, heartbeat.timeoutMs);
    answering = c.query('SELECT 1').catch(() => undefined);
    await answering;
    clearTimeout(timer);
    answering = undefined;
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
