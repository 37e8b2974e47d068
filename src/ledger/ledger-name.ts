/**
 * What a ledger may be called: it becomes the last part of the ledger's origin, a metrics label
 * and a path segment, so it is kept to characters that need no escaping anywhere.
 *
 * @example LEDGER_NAME.test('main') // true; 'Main', '-x', 'a/b' are refused
 */
export const LEDGER_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const LEDGER_NAME_RULE = 'a ledger name is 1 to 63 of a-z, 0-9, "_" and "-", starting with a letter or digit';
