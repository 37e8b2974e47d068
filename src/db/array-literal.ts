/**
 * A PostgreSQL array literal of a one-dimensional column, for a `$n::type[]` parameter of an
 * `INSERT … SELECT FROM unnest(…)`. The driver writes the same text by appending one quoted,
 * escaped element at a time, numbers included, and flattens the result as it sends it: ≈ 7 kB
 * of short-lived strings for each recorded query audit. Here the pieces go into one array and
 * are joined once.
 *
 * Strings are quoted, with `\` and `"` escaped (so `NULL`, commas and braces stay text); null
 * and undefined are SQL NULL; a Date is its ISO 8601 instant.
 *
 * @example
 *   db.query(`SELECT unnest($1::text[])`, [arrayLiteral(['a', null, 'say "hi"'])]) // '{"a",NULL,"say \"hi\""}'
 */
export function arrayLiteral(values: ReadonlyArray<string | number | Date | null | undefined>): string {
  const pieces: string[] = ['{'];
  for (let i = 0; i < values.length; i++) {
    if (i > 0) pieces.push(',');
    const v = values[i];
    if (v === null || v === undefined) pieces.push('NULL');
    else if (typeof v === 'number') pieces.push(String(v));
    else if (typeof v === 'string') pieces.push('"', NEEDS_ESCAPE.test(v) ? v.replace(ESCAPED, '\\$&') : v, '"');
    else pieces.push('"', v.toISOString(), '"');
  }
  pieces.push('}');
  return pieces.join('');
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;
