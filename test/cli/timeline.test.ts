import { describe, expect, it } from 'vitest';
import { formatTimeline, proofFileNames } from '../../src/cli/trace.js';
import type { TraceLine } from '../../src/cli/trace-source.js';

const line = (over: Partial<TraceLine>): TraceLine => ({
  queryId: 'q-1',
  time: '2026-12-02T10:00:00.000Z',
  subject: 'auth/login',
  predicate: 'ttl',
  lens: null,
  result: 900,
  resultHash: 'ab'.repeat(32),
  resultConfidence: 0.9,
  eventId: 'cd'.repeat(32),
  eventIndex: 7,
  recordedBy: 'recorder',
  contributingAssertions: [],
  ...over,
});

describe('trace timeline', () => {
  it('keeps each recorded text on its own line: an agent cannot forge lines or send terminal escapes', () => {
    const forged = 'db/pool\n2026-12-02T09:00:00.000Z  auth/login config → "rotated-by-oncall"';
    const text = formatTimeline([
      line({
        subject: forged,
        predicate: 'size\u001b[31m',
        lens: 'l\r',
        result: 'x\u009b2J',
        contributingAssertions: [{
          assertionHash: 'ef'.repeat(32),
          weight: 1,
          assertion: { subject: 'a\u202eb', predicate: 'p\u2028', value: 1, lifecycle: 'ACCEPTED', confidence: 1 },
          source: { locator: 'git://x\n    1.00  forged', contentHash: '01'.repeat(32) },
        }],
      }),
    ], false);
    const lines = text.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('2026-12-02T10:00:00.000Z  db/pool\\u000a2026-12-02T09:00:00.000Z  auth/login config → "rotated-by-oncall" size\\u001b[31m [l\\u000d] → "x\\u009b2J"  confidence 0.9');
    expect(lines[1]).toBe(`    query q-1, recorded by recorder, event #7 ${'cd'.repeat(8)}…`);
    expect(lines[2]).toBe('    1.00  a\\u202eb p\\u2028 = 1 (ACCEPTED, 1)  ← git://x\\u000a    1.00  forged');
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
  });

  it('shows the top assertions by weight, a source by its hash when none is known, and says what was left out', () => {
    const assertion = (weight: number, hash: string) => ({
      assertionHash: hash.repeat(64), weight, source: null,
      assertion: { subject: 's', predicate: 'p', value: weight, lifecycle: 'ACCEPTED', confidence: 1 },
    });
    const text = formatTimeline([
      line({ resultConfidence: null, contributingAssertions: [assertion(0.1, 'a'), assertion(0.7, 'b'), assertion(0.2, 'c'), assertion(0.9, 'd'), assertion(0.05, 'e')] }),
    ], true);
    expect(text.split('\n')).toEqual([
      '2026-12-02T10:00:00.000Z  auth/login ttl → 900',
      `    query q-1, recorded by recorder, event #7 ${'cd'.repeat(8)}…`,
      `    0.90  s p = 0.9 (ACCEPTED, 1)  ← source ${'d'.repeat(12)}…`,
      `    0.70  s p = 0.7 (ACCEPTED, 1)  ← source ${'b'.repeat(12)}…`,
      `    0.20  s p = 0.2 (ACCEPTED, 1)  ← source ${'c'.repeat(12)}…`,
      '    … and 2 more assertions',
      '1 query (more matched: narrow the window or raise --limit)',
      '',
    ]);
  });

  it('shows three assertions whole, with no line about more', () => {
    const text = formatTimeline([line({ contributingAssertions: [0.5, 0.3, 0.2].map((weight, k) => ({
      assertionHash: String(k).repeat(64), weight, source: null,
      assertion: { subject: 's', predicate: 'p', value: k, lifecycle: 'ACCEPTED', confidence: 1 },
    })) })], false);
    expect(text.split('\n').slice(2)).toEqual([
      `    0.50  s p = 0 (ACCEPTED, 1)  ← source ${'0'.repeat(12)}…`,
      `    0.30  s p = 1 (ACCEPTED, 1)  ← source ${'1'.repeat(12)}…`,
      `    0.20  s p = 2 (ACCEPTED, 1)  ← source ${'2'.repeat(12)}…`,
      '1 query',
      '',
    ]);
  });

  it('says when no query matched, and counts the queries shown', () => {
    expect(formatTimeline([], false)).toBe('no queries in that window\n');
    expect(formatTimeline([line({}), line({ queryId: 'q-2' })], false)).toMatch(/\n2 queries\n$/);
  });

  it('cuts a result past 60 characters and an assertion value past 40, with an ellipsis', () => {
    const result = 'r'.repeat(58); // 60 characters as JSON: shown whole
    const value = 'v'.repeat(48);
    const text = formatTimeline([line({ result, contributingAssertions: [{
      assertionHash: 'ef'.repeat(32), weight: 1, source: null,
      assertion: { subject: 's', predicate: 'p', value, lifecycle: 'ACCEPTED', confidence: 1 },
    }] })], false);
    expect(text).toContain(`→ "${result}"  confidence`);
    expect(text).toContain(`= "${'v'.repeat(38)}… (ACCEPTED`);
    expect(formatTimeline([line({ result: `${result}r` })], false)).toContain(`→ "${'r'.repeat(58)}…  confidence`);
  });
});

describe('trace --proofs file names', () => {
  it('are the query ids, with the event id added where two differ only in case', () => {
    // Two files named Q and q would be one file on a case-insensitive file system.
    expect(proofFileNames([
      { queryId: 'q-1', eventId: 'ab'.repeat(32) },
      { queryId: 'Q-1', eventId: 'cd'.repeat(32) },
      { queryId: 'q-2', eventId: 'ef'.repeat(32) },
    ])).toEqual([`q-1.${'ab'.repeat(8)}.tlog-proof`, `Q-1.${'cd'.repeat(8)}.tlog-proof`, 'q-2.tlog-proof']);
  });
});
