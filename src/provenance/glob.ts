import { ChainproofError } from '../errors.js';

export const MAX_GLOB_LENGTH = 512;
/**
 * Most wildcards (`*`, `**`, `?`) one glob may hold. PostgreSQL's regex cost per row grows with
 * them: 170 `**` segments cost ≈ 95 µs a row, a 30 s scan of 300,000 audits from one public read.
 */
export const MAX_GLOB_WILDCARDS = 16;
const ANY_SEGMENTS = '(?:.*/)?';

/** ASCII punctuation: the only characters that can mean something in a PostgreSQL regex. */
const PUNCTUATION = /[!-/:-@[-`{-~]/;

/**
 * Subject globs over `/`-separated paths: `*` matches within one segment, `**` across
 * segments (a whole `**` segment also matches none, as in bash's globstar and gitignore),
 * `?` one character other than `/`; everything else is literal. The glob comes from the
 * caller, so every regex metacharacter is escaped and the pattern is anchored.
 */
export function globToRegex(glob: string): string {
  checkGlob(glob);
  let re = '^';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const segmentStart = i === 0 || glob[i - 1] === '/';
        while (glob[i + 1] === '*') i++;
        // auth/**/token matches auth/token and **/login matches login: the segment may be absent.
        if (segmentStart && glob[i + 1] === '/') {
          // `**/**/` means what `**/` does: one group, however many are written.
          if (!re.endsWith(ANY_SEGMENTS)) re += ANY_SEGMENTS;
          i++;
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += PUNCTUATION.test(c) ? `\\${c}` : c;
  }
  return `${re}$`;
}

/**
 * How SQL should match a glob: a glob without wildcards is an equality; otherwise the literal
 * text before the first wildcard becomes a LIKE prefix (an index range: every match starts
 * with it, LIKE's own metacharacters escaped) and the anchored regex decides.
 */
export function subjectMatcher(glob: string): { equals: string } | { likePrefix: string | null; regex: string } {
  const regex = globToRegex(glob);
  const i = glob.search(/[*?]/);
  if (i < 0) return { equals: glob };
  const prefix = glob.slice(0, i);
  return { likePrefix: prefix ? `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null, regex };
}

function checkGlob(glob: string): void {
  if (typeof glob !== 'string' || glob.length === 0 || glob.length > MAX_GLOB_LENGTH) {
    throw new ChainproofError('BAD_USER_INPUT', `a subject glob must be 1..${MAX_GLOB_LENGTH} characters`);
  }
  if (glob.includes('\u0000')) throw new ChainproofError('BAD_USER_INPUT', 'a subject glob must not contain NUL');
  // Runs of whole `**/` segments as globToRegex merges them: at a segment's start only.
  const wildcards = glob.replace(/(^|\/)(?:\*\*\/)+/g, '$1**/').match(/\*+|\?/g)?.length ?? 0;
  if (wildcards > MAX_GLOB_WILDCARDS) {
    throw new ChainproofError('BAD_USER_INPUT', `a subject glob may hold at most ${MAX_GLOB_WILDCARDS} wildcards (* ** ?); this one has ${wildcards}`);
  }
}
