import { spawnSync } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDataDir, usingPostgres } from '../support/db.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { SMALL_LEDGER_ENV } from '../support/server.js';

const BIN = fileURLToPath(new URL('../../bin/chainproof.js', import.meta.url));
const EVENTS = 1_000_000;

/**
 * A million events exported through the CLI with the JavaScript heap capped at 64 MiB: the
 * events alone are ~500 MB as JSON, so only a streaming export can finish. PostgreSQL only
 * (building the ledger on the embedded database would take most of the CI budget).
 */
describe.runIf(usingPostgres())('export of 1M events', () => {
  let t: TestLedger;
  const out = tempDataDir();
  beforeAll(async () => {
    t = await openTestLedger({}, { produceBlocks: false });
    await t.service.createLedger('big', {});
    const batch = (b: number) => Array.from({ length: 1000 }, (_, i) => ({ type: 'bulk', actor: `a${(b * 1000 + i) % 97}`, payload: { n: b * 1000 + i } }));
    // Four callers at a time, so group commit merges their batches.
    for (let b = 0; b < EVENTS / 1000; b += 4) {
      await Promise.all([0, 1, 2, 3].map((k) => t.service.append('big', batch(b + k))));
    }
  }, 600_000);
  afterAll(async () => {
    await t?.close();
    out.remove();
  });

  it('streams in constant memory', async () => {
    const file = join(out.dir, 'big.jsonl');
    const r = spawnSync(process.execPath, ['--max-old-space-size=64', BIN, 'export', '--ledger', 'big', '--output', file], {
      env: { PATH: process.env.PATH ?? '', ...SMALL_LEDGER_ENV, ...t.db.env },
      encoding: 'utf8',
      timeout: 600_000,
    });
    expect(r.stderr).toMatch(/exported 1000000 events/);
    expect(r.status).toBe(0);
    expect(statSync(file).size).toBeGreaterThan(200 * 1024 * 1024);
    let lines = 0;
    let last = -1;
    for await (const line of createInterface({ input: createReadStream(file) })) {
      const e = JSON.parse(line) as { index: number };
      if (e.index !== last + 1) throw new Error(`line ${lines}: index ${e.index} after ${last}`);
      last = e.index;
      lines++;
    }
    expect(lines).toBe(EVENTS);
  }, 600_000);
});
