/**
 * Controls that would move the cursor, start a new line or an escape sequence, or reorder what
 * follows (bidi overrides). What the CLI prints is mostly text clients recorded (actors, event
 * types, subjects, titles), and it is read in a terminal.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Recorded text as the CLI shows it: one line, each control character as a `\uXXXX` escape.
 *
 * @example shown('db/pool\nforged') // 'db/pool\\u000aforged'
 */
export const shown = (text: string): string => text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Columns padded to their widest cell, one row a line whatever the cells hold. */
export function table(head: string[], rows: string[][]): string {
  const cells = rows.map((r) => r.map(shown));
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...cells.map(line)].join('\n') + '\n';
}
