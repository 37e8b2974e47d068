import { describe, expect, it } from 'vitest';
import { table } from '../../src/cli/printable.js';

describe('CLI tables', () => {
  it('print one line per row whatever a recorded actor or event type holds', () => {
    const text = table(['index', 'type', 'actor'], [
      ['56', 't\u001b[2Jx', 'bob\nforged  row'],
      ['57', 'ok', 'carol\u202e'],
    ]);
    expect(text.split('\n')).toEqual([
      'index  type         actor',
      '56     t\\u001b[2Jx  bob\\u000aforged  row',
      '57     ok           carol\\u202e',
      '',
    ]);
  });
});
