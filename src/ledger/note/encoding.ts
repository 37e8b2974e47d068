// Shared text rules for signed notes and checkpoints (c2sp.org/signed-note, c2sp.org/tlog-checkpoint).

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Strict standard base64 (RFC 4648 §4). Buffer.from(s, 'base64') silently skips junk and
 * accepts missing padding, which would make signatures and root hashes malleable; we also
 * require the canonical encoding (zero trailing bits) so each byte string has one spelling.
 */
export function decodeBase64Strict(s: string): Buffer | null {
  if (!BASE64_RE.test(s)) return null;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? bytes : null;
}

// Lone surrogates cannot be encoded as UTF-8; in /u mode a valid pair is one code point, so only lone halves match.
const LONE_SURROGATE_RE = /\p{Cs}/u;
// The spec forbids ASCII controls other than newline anywhere in a note.
const FORBIDDEN_CONTROL_RE = /[\u0000-\u0009\u000b-\u001f]/;

/** True if `s` is valid UTF-8 text with no ASCII control characters except "\n". */
export function isValidNoteText(s: string): boolean {
  return !LONE_SURROGATE_RE.test(s) && !FORBIDDEN_CONTROL_RE.test(s);
}

// Unicode White_Space is exactly what Go's unicode.IsSpace (used by the reference implementation) rejects.
const NAME_FORBIDDEN_RE = /[\p{White_Space}+\u0000-\u001f]/u;

/** Key names: non-empty, valid UTF-8, no Unicode spaces, no '+', no control characters. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !NAME_FORBIDDEN_RE.test(name) && !LONE_SURROGATE_RE.test(name);
}
