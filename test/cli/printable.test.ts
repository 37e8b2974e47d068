import { describe, expect, it } from 'vitest';
import { shown, table } from '../../src/cli/printable.js';

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

  it('escape NUL, DEL, C1 controls and every bidi mark and isolate, and leave printable text as it is', () => {
    // Each of these can hide or reorder what follows it in a terminal (Trojan Source).
    expect(shown('a\u0000b\u007fc\u0085d\u061ce\u200ef\u200fg\u202ah\u2066i\u2069j')).toBe(
      'a\\u0000b\\u007fc\\u0085d\\u061ce\\u200ef\\u200fg\\u202ah\\u2066i\\u2069j',
    );
    expect(shown(' ~\u00a0é\u200d→')).toBe(' ~\u00a0é\u200d→');
  });
});
