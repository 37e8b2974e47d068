import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl, usingPostgres } from '../support/db.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';

/**
 * Two server processes on one PostgreSQL database, many concurrent clients on each: the head
 * row lock must keep one sequence with no gap, no duplicate and no fork. (The embedded
 * database is single-process by design, so this runs only against PostgreSQL.)
 */
describe.runIf(usingPostgres())('two server processes on one PostgreSQL', () => {
  let servers: ServerProcess[] = [];
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const db = await freshDatabaseUrl();
    drop = db.drop;
    // Started together on a new database: one migrates while the other waits its turn.
    servers = await Promise.all([startServer({ DATABASE_URL: db.url }), startServer({ DATABASE_URL: db.url })]);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill('SIGTERM')));
    await drop?.();
  });

  it('never forks, skips or duplicates an index', async () => {
    const acked: Array<{ id: string; index: number }> = [];
    const perClient = 40;
    await Promise.all(
      Array.from({ length: 32 }, async (_, c) => {
        const url = servers[c % 2]!.url;
        for (let i = 0; i < perClient; i++) {
          const batch = i % 5 === 0;
          const r = batch
            ? await gql(url, `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index id } }`, {
                i: [{ type: 'b', actor: `c${c}` }, { type: 'b', actor: `c${c}` }],
              })
            : await gql(url, `mutation { appendEvent(input: {type: "s", actor: "c${c}"}) { index id } }`);
          expect(r.errors).toBeUndefined();
          acked.push(...(batch ? r.data.appendEvents : [r.data.appendEvent]));
        }
      }),
    );
    const indexes = acked.map((a) => a.index).sort((a, b) => a - b);
    expect(indexes).toEqual(Array.from({ length: acked.length }, (_, i) => i));
    expect(new Set(acked.map((a) => a.id)).size).toBe(acked.length);

    // Each server sees the other's events; the chain has a single tip.
    for (const s of servers) {
      const r = await gql(s.url, `{ ledger { treeSize tips } }`);
      expect(r.data.ledger).toEqual({ treeSize: acked.length, tips: 1 });
    }
    const cp = await gql(servers[0]!.url, `mutation { createCheckpoint { treeSize } }`);
    expect(cp.data.createCheckpoint.treeSize).toBe(acked.length);
    const v = await gql(servers[1]!.url, `{ verify(full: true) { status issues { kind index blockHeight message } } }`);
    expect(v.data.verify.issues).toEqual([]);
    expect(v.data.verify.status).toBe('VALID');
  });
});
