import { describe, expect, it } from 'vitest';
import { formatTimeline } from '../../src/cli/trace.js';
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
});
