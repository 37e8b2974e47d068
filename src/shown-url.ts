/** Longest peer or validator URL taken: it is stored, shown and sent with every request. */
const MAX_URL_LENGTH = 2048;

/**
 * What is wrong with `url` as a peer's or validator's URL, worded to follow "the URL"; null when
 * nothing is. Such URLs are shown in logs, `syncStatus` and `/metrics`, so one that could carry a
 * secret (user:password, a query string, a fragment) is refused without being echoed.
 * `url` is attacker-controlled where it comes through createPeer.
 *
 * @example
 *   shownUrlProblem('https://peer.example/graphql?token=x'); // 'must not carry a query string: …'
 */
export function shownUrlProblem(url: string): string | null {
  if (!URL.canParse(url)) return `(${url.length} characters) is not a URL`;
  const parsed = new URL(url);
  const carried = (part: string) => `must not carry ${part}: it is shown in logs and /metrics`;
  if (parsed.username !== '' || parsed.password !== '') return carried('credentials (user:password@)');
  if (parsed.search !== '') return carried('a query string');
  if (parsed.hash !== '') return carried('a fragment');
  if (!['http:', 'https:'].includes(parsed.protocol) || /[\s|]/.test(url) || url.length > MAX_URL_LENGTH) {
    return `${JSON.stringify(url)} must be an http(s) URL of at most ${MAX_URL_LENGTH} characters, without | or spaces`;
  }
  return null;
}
