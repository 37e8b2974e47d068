/**
 * The code of the refusal `p` ends in (`uncoded: …` for an error without one); throws if `p`
 * is not refused.
 *
 * @example expect(await codeOf(service.append('main', [bad]))).toBe('BAD_USER_INPUT');
 */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code?: string }).code ?? `uncoded: ${(e as Error).message}`;
  }
  throw new Error('expected a refusal');
}

/**
 * The code of what `fn` throws (a ChainproofError's or a NoteError's), or undefined if it
 * returns; an error without a code is thrown on.
 *
 * @example expect(thrownCodeOf(() => parseTlogProof(text))).toBe('MALFORMED_NOTE');
 */
export function thrownCodeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    throw e;
  }
  return undefined;
}
