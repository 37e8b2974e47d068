import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CITED_VALUE_CHARS } from '../../src/provenance/service.js';
import { codeOf, openTestProvenance, sha, type TestProvenance } from './support.js';

let t: TestProvenance;
const ASSERTIONS = 20;
const VALUE_CHARS = 60_000;
let lines = 0;

beforeAll(async () => {
  t = await openTestProvenance();
  const src = await t.prov.recordSource('main', { locator: 'blob://big', contentHash: sha('big') }, 'curator');
  const cited: Array<{ assertionHash: string; weight: number }> = [];
  for (let i = 0; i < ASSERTIONS; i++) {
    const a = await t.prov.recordAssertion('main', { subject: `big/${i}`, predicate: 'blob', value: 'v'.repeat(VALUE_CHARS), lifecycle: 'ACCEPTED', confidence: 1, sourceHash: src.contentHash }, 'curator');
    cited.push({ assertionHash: a.hash, weight: 1 / ASSERTIONS });
  }
  // Each line cites 1.2 MB of values: enough lines together pass what one answer carries.
  lines = Math.ceil(MAX_CITED_VALUE_CHARS / (ASSERTIONS * VALUE_CHARS)) + 1;
  await t.prov.recordQueries('main', Array.from({ length: lines }, (_, i) => ({ agentId: 'greedy', subject: `big/${i}`, predicate: 'blob', result: i, contributingAssertions: cited })), 'greedy');
}, 60_000);
afterAll(async () => t?.close());

describe('cited assertion values in one read', () => {
  it('past the limit, RESULT_TOO_LARGE; fewer lines, or no assertion records, answer', async () => {
    const trace = (first: number, citedRecords = true) => t.prov.trace('main', { agent: 'greedy', sinceMs: 0, first }, undefined, { citedRecords });
    expect(await codeOf(trace(lines))).toBe('RESULT_TOO_LARGE');
    expect(await codeOf(t.prov.queryAudits('main', { agent: 'greedy' }, { first: lines }))).toBe('RESULT_TOO_LARGE');
    expect((await trace(lines - 2)).lines).toHaveLength(lines - 2);
    expect((await trace(lines, false)).lines).toHaveLength(lines);
  });
});
