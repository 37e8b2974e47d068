import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl, usingPostgres } from '../support/db.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';
import { collect } from '../support/ws.js';

/** An event appended through one server reaches subscribers of another (LISTEN/NOTIFY). */
describe.runIf(usingPostgres())('subscriptions across two server processes', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    const db = await freshDatabaseUrl();
    drop = db.drop;
    a = await startServer({ DATABASE_URL: db.url });
    b = await startServer({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await Promise.all([a?.kill('SIGTERM'), b?.kill('SIGTERM')]);
    await drop?.();
  });

  it('delivers every event exactly once, in order, to subscribers of both', async () => {
    const onA = collect<{ auditEvent: { index: number } }>(a.wsUrl, `subscription { auditEvent { index } }`);
    const onB = collect<{ auditEvent: { index: number } }>(b.wsUrl, `subscription { auditEvent { index } }`);
    const blocksOnB = collect<{ blockMined: { height: number } }>(b.wsUrl, `subscription { blockMined { height } }`);
    const checkpointsOnB = collect<{ checkpointCreated: { treeSize: number } }>(b.wsUrl, `subscription { checkpointCreated { treeSize } }`);
    await Promise.all([onA.connected, onB.connected, blocksOnB.connected, checkpointsOnB.connected]);
    await new Promise((r) => setTimeout(r, 300));
    const total = 200;
    await Promise.all(
      Array.from({ length: 20 }, async (_, c) => {
        for (let i = 0; i < total / 20; i++) {
          const r = await gql((c % 2 ? a : b).url, `mutation { appendEvent(input: {type: "x", actor: "c${c}"}) { index } }`);
          expect(r.errors).toBeUndefined();
        }
      }),
    );
    for (const sub of [onA, onB]) {
      const got = (await sub.until(total)).map((m) => m.auditEvent.index);
      expect(got).toEqual(Array.from({ length: total }, (_, i) => i));
    }
    await gql(a.url, `mutation { createCheckpoint { treeSize } }`); // mined by A, seen on B
    expect((await blocksOnB.until(1))[0]!.blockMined.height).toBe(0);
    // Automatic checkpoints may come first; the one A was asked for reaches B too.
    const deadline = Date.now() + 10_000;
    while (!checkpointsOnB.received.some((m) => m.checkpointCreated.treeSize === total) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(checkpointsOnB.received.map((m) => m.checkpointCreated.treeSize)).toContain(total);
    await new Promise((r) => setTimeout(r, 300));
    expect(onA.received).toHaveLength(total);
    expect(onB.received).toHaveLength(total);
    await Promise.all([onA.close(), onB.close(), blocksOnB.close(), checkpointsOnB.close()]);
  });
});
