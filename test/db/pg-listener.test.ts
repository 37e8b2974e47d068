import net from 'node:net';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { listen } from '../../src/db/pg-listener.js';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import { loadServerKey } from '../../src/ledger/server-key.js';
import { freshDatabaseUrl, usingPostgres } from '../support/db.js';
import { testConfig } from '../support/ledger.js';

const silent = pino({ level: 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(usingPostgres())('the LISTEN connection', () => {
  let fresh: { url: string; drop(): Promise<void> };
  let admin: pg.Client;
  const listening = async () =>
    (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN chainproof'`)).rows[0].n as number;
  const dropListeners = () => admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN chainproof'`);
  beforeAll(async () => {
    fresh = await freshDatabaseUrl();
    admin = new pg.Client({ connectionString: fresh.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
    await fresh?.drop();
  });
  /** The listener connected again, and hears what is notified from now on. */
  const expectBackAndHearing = async (connects: () => number, heard: string[]) => {
    await vi.waitFor(() => expect(connects()).toBe(2), { timeout: 5_000, interval: 50 });
    await admin.query(`NOTIFY chainproof, 'after'`);
    await vi.waitFor(() => expect(heard).toEqual(['after']), { timeout: 1_000, interval: 20 });
  };
  /** A TCP proxy in front of the test database, `carry` deciding what each connection carries; and the URL through it. */
  const proxyToDatabase = async (carry: (client: net.Socket, connectUpstream: () => net.Socket) => void) => {
    const { hostname, port, pathname } = new URL(fresh.url);
    const proxy = net.createServer((client) => carry(client, () => net.connect(Number(port || 5432), hostname)));
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    return { proxy, url: `postgres://postgres@127.0.0.1:${(proxy.address() as net.AddressInfo).port}${pathname}` };
  };

  it('closed while it reconnects, leaves no connection behind and calls nobody', async () => {
    // A proxy that is slow to let the reconnect through.
    let delayMs = 0;
    let accepted = 0;
    const { proxy, url } = await proxyToDatabase((client, connectUpstream) => {
      accepted++;
      setTimeout(() => {
        const upstream = connectUpstream();
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      }, delayMs);
    });
    try {
      let connects = 0;
      const l = await listen(url, () => undefined, () => void connects++, silent);
      expect([connects, await listening()]).toEqual([1, 1]);
      delayMs = 1500;
      await dropListeners();
      for (let i = 0; i < 100 && accepted < 2; i++) await sleep(20);
      expect(accepted).toBe(2); // the reconnect is under way, waiting on the proxy
      await l.close();
      await sleep(1500);
      expect([connects, await listening()]).toEqual([1, 0]);
    } finally {
      await dropListeners();
      proxy.close();
    }
  });

  it('replaces a connection that stops answering without closing', async () => {
    // A proxy that can go silent: the connections it carries stay open and carry nothing.
    let silent = false;
    const { proxy, url } = await proxyToDatabase((client, connectUpstream) => {
      const upstream = connectUpstream();
      const forward = (from: net.Socket, to: net.Socket) => from.on('data', (d) => void (silent ? undefined : to.write(d)));
      forward(client, upstream);
      forward(upstream, client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    let l: Awaited<ReturnType<typeof listen>> | undefined;
    try {
      let connects = 0;
      const heard: string[] = [];
      l = await listen(url, (p) => void heard.push(p), () => void connects++, pino({ level: 'silent' }), { everyMs: 200, timeoutMs: 300 });
      silent = true;
      await sleep(800); // a heartbeat goes unanswered; the connection is torn down
      silent = false;
      await expectBackAndHearing(() => connects, heard);
    } finally {
      await l?.close();
      proxy.close();
      await dropListeners();
    }
  });

  it('gives up a reconnect that the server never answers, and tries again', async () => {
    // A proxy that can swallow new connections: accepted, and never a byte either way.
    let swallow = false;
    let swallowed = 0;
    const held: net.Socket[] = [];
    const { proxy, url } = await proxyToDatabase((client, connectUpstream) => {
      held.push(client);
      client.on('error', () => undefined);
      if (swallow) return void swallowed++;
      const upstream = connectUpstream();
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    let l: Awaited<ReturnType<typeof listen>> | undefined;
    try {
      let connects = 0;
      const heard: string[] = [];
      l = await listen(url, (p) => void heard.push(p), () => void connects++, silent, { everyMs: 200, timeoutMs: 300 });
      swallow = true;
      await dropListeners();
      for (let i = 0; i < 100 && swallowed === 0; i++) await sleep(20);
      expect(swallowed).toBe(1); // the reconnect is under way, and will never be answered
      swallow = false;
      await expectBackAndHearing(() => connects, heard);
    } finally {
      await l?.close();
      for (const s of held) s.destroy();
      proxy.close();
      await dropListeners();
    }
  });

  it('coming back, catches up every ledger it follows, with no read of its own that could fail', async () => {
    const db: Database = await openDatabase({ databaseUrl: fresh.url, dataDir: '', dbPoolSize: 4 });
    const config = testConfig();
    const service = new LedgerService(db.dataSource, config, loadServerKey(config, false)?.key, silent, { listenUrl: fresh.url, produceBlocks: false });
    // Another process on the same database, whose commit's NOTIFY finds nobody listening.
    const other = new LedgerService(db.dataSource, config, undefined, silent, { produceBlocks: false });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await service.start();
      const registry = (service as unknown as { registry: { list(): Promise<unknown[]> } }).registry;
      const list = vi.spyOn(registry, 'list').mockRejectedValue(new Error('pool timeout'));
      const sub = await service.subscribe('event', 'main');
      await dropListeners();
      const [missed] = await other.append('main', [{ type: 'during-the-gap', actor: 'other' }]);
      const first = await sub.next();
      expect(first.value.index).toBe(missed!.index);
      expect(unhandled).toEqual([]);
      expect(list).not.toHaveBeenCalled();
      await sub.return!();
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await service.stop();
      await db.close();
    }
  });
});
