import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/roles.js';
import { OperationAuditor, type ServedOperation } from '../../src/provenance/audit-plugin.js';
import type { ProvenanceService } from '../../src/provenance/service.js';

/** When an answer may leave, against when its audit commits: the append is the test's to settle. */
function harness(waitMs: number) {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  let commit!: () => void;
  let fail!: (e: Error) => void;
  const provenance = {
    recordOperation: () =>
      new Promise((resolve, reject) => {
        commit = () => resolve({});
        fail = reject;
      }),
  } as unknown as ProvenanceService;
  const auditor = new OperationAuditor(provenance, new Set(['agent']), 'main', log, waitMs);
  const agent: Principal = { kind: 'api-key', account: 'agent', role: 'reader' };
  const op: ServedOperation = { operationName: 'Q', operationType: 'query', query: '{ ledger { treeSize } }', variables: {}, result: { data: {} }, durationMs: 1 };
  let answered = false;
  const answer = auditor.record(agent, op).then(() => void (answered = true));
  return { lines, answer, answered: () => answered, commit: () => commit(), fail: (e: Error) => fail(e) };
}

const turns = (n: number) => new Promise((r) => setTimeout(r, n));

describe('OperationAuditor', () => {
  it('lets the answer go once the audit commits, not before', async () => {
    const h = harness(60_000);
    await turns(20);
    expect(h.answered()).toBe(false);
    h.commit();
    await h.answer;
    expect(h.answered()).toBe(true);
    expect(h.lines.filter((l) => l.level >= 40)).toEqual([]);
  });

  it('warns of nothing once the audit committed in time, even after the limit has passed', async () => {
    const h = harness(50);
    h.commit();
    await h.answer;
    await turns(100);
    expect(h.lines.filter((l) => l.level >= 40)).toEqual([]);
  });

  it('lets the answer go when the audit fails, and logs the failure', async () => {
    const h = harness(60_000);
    h.fail(new Error('database gone'));
    await h.answer;
    expect(h.lines.some((l) => l.level === 50 && l.msg === 'operation audit was not recorded')).toBe(true);
  });

  it('lets the answer go when the audit is still pending after the limit, with a warning', async () => {
    const h = harness(30);
    await h.answer;
    expect(h.lines.some((l) => l.level === 40 && /still pending/.test(l.msg))).toBe(true);
    h.commit();
  });

  it('answers at once when answers do not wait', async () => {
    const h = harness(0);
    await h.answer;
    expect(h.answered()).toBe(true);
    // Not let go by a timer: nothing was waited for, so nothing is still pending.
    expect(h.lines.filter((l) => l.level >= 40)).toEqual([]);
    h.commit();
  });

  it('audits the listed accounts and DIDs listed by registered name, never the anonymous caller or an API key by its id', () => {
    const auditor = new OperationAuditor({} as ProvenanceService, new Set(['anonymous', 'agent', 'named-signer', 'key-7']), 'main', pino({ level: 'silent' }), 0);
    const did = 'did:key:z6MkexampleSigner';
    expect(auditor.audits({ kind: 'anonymous', account: 'anonymous', role: null })).toBe(false);
    expect(auditor.audits({ kind: 'api-key', account: 'agent', role: 'reader', keyId: 'key-1' })).toBe(true);
    expect(auditor.audits({ kind: 'api-key', account: 'bystander', role: 'reader', keyId: 'key-7' })).toBe(false);
    expect(auditor.audits({ kind: 'did', account: did, role: 'reader', keyId: 'named-signer' })).toBe(true);
    expect(auditor.audits({ kind: 'did', account: did, role: 'reader', keyId: 'other-name' })).toBe(false);
  });
});
