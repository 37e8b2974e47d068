export type NoteErrorCode =
  | 'BAD_VERIFIER_KEY'
  | 'MALFORMED_NOTE'
  | 'MALFORMED_CHECKPOINT'
  | 'UNVERIFIED_NOTE'
  | 'BAD_SIGNATURE'
  | 'BAD_KEY_NAME';

/** Every failure in this module carries a stable code so callers can branch without parsing messages. */
export class NoteError extends Error {
  override readonly name = 'NoteError';

  constructor(
    readonly code: NoteErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
