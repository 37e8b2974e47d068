import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { verifyLedger as VerifyLedger } from '../../src/ledger/verify/index.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { compileVerifier } from './compiled.js';
import { buildLedger, envelopeOfEvent, expectIssue, expectValid, forgedEventColumns, tamper } from './support.js';

/** The content worker runs compiled JavaScript: the verifier is compiled first and run from the build. */
describe('full verification with the content worker', () => {
  let t: TestLedger;
  let verifyLedger: typeof VerifyLedger;
  let build: ReturnType<typeof compileVerifier>;

  beforeAll(async () => {
    build = compileVerifier();
    ({ verifyLedger } = await build.import());
    // Any page checked in this thread fails the test: they must all go to the worker.
    const { ContentChecker } = await build.import<typeof import('../../src/ledger/verify/content-check.js')>('content-check.js');
    ContentChecker.prototype.checkPage = () => {
      throw new Error('a page was checked in the main thread');
    };
    t = await openTestLedger();
  });
  afterAll(async () => {
    await t?.close();
    build?.remove();
  });

  const opts = () => ({ full: true, contentWorker: true, verifierKeys: [t.service.verifierKey()!], pageSize: 16 });

  it('is VALID on an untouched ledger', async () => {
    const { ledger, events } = await buildLedger(t.service, 'threaded');
    const report = await verifyLedger(t.db.dataSource, ledger, opts());
    expectValid(report);
    expect(report.eventsVerified).toBe(events.length);
  });

  it("reports what the worker finds alongside what the main thread finds", async () => {
    const { ledger, events } = await buildLedger(t.service, 'threaded-tampered');
    const env = envelopeOfEvent(events[20]!);
    env.payload = { forged: true };
    const f = forgedEventColumns(ledger.origin, env);
    await tamper(
      t.db.dataSource,
      [`UPDATE events SET canonical = $3 WHERE ledger_id = $1 AND idx = $2`, [ledger.id, 20, f.canonical]],
      [`UPDATE events SET type = 'Forged' WHERE ledger_id = $1 AND idx = $2`, [ledger.id, 70]],
      [`UPDATE tree_nodes SET hash = $2 WHERE ledger_id = $1 AND level = 3 AND idx = 5`, [ledger.id, Buffer.alloc(32, 9)]],
    );
    const report = await verifyLedger(t.db.dataSource, ledger, opts());
    expectIssue(report, 'EVENT_HASH_MISMATCH', { index: 20 });
    expectIssue(report, 'EVENT_FIELD_MISMATCH', { index: 70 });
    expectIssue(report, 'TREE_MISMATCH', { index: 40 });
    expect(report.issues).toHaveLength(3);
  });

  it("finds an event the server wrote in its own name with the signature stripped", async () => {
    const { ledger } = await buildLedger(t.service, 'threaded-stripped');
    const [own] = await t.service.append('threaded-stripped', [{ type: 'TokensMinted', actor: 'chainproof', payload: { amount: '5' } }], { asServer: true });
    await t.service.append('threaded-stripped', [{ type: 'After', actor: 'user:1' }]);
    await tamper(t.db.dataSource, [`UPDATE events SET signature = NULL WHERE ledger_id = $1 AND idx = $2`, [ledger.id, own!.index]]);
    const report = await verifyLedger(t.db.dataSource, ledger, opts());
    expectIssue(report, 'EVENT_SIGNATURE', { index: own!.index });
    expect(report.issues).toHaveLength(1);
  });

  it('stops at maxIssues when the worker finds them', async () => {
    const { ledger } = await buildLedger(t.service, 'threaded-capped');
    await tamper(t.db.dataSource, [`UPDATE events SET actor = 'mallory' WHERE ledger_id = $1`, [ledger.id]]);
    const report = await verifyLedger(t.db.dataSource, ledger, { ...opts(), maxIssues: 7 });
    expect(report.status).toBe('INVALID');
    expect(report.issues).toHaveLength(7);
    expect(report.issues.every((i) => i.kind === 'EVENT_FIELD_MISMATCH')).toBe(true);
  });
});
