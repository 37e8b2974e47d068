/**
 * Chainproof's own HTTP calls (the CLI's `--url`, sync peers, validators) are POSTs that must reach
 * the URL they were given. Followed, a 301 or 302 would turn one into a GET without its body, and a
 * 307 or 308 would send the body and the API key on to wherever the other side names. So they are
 * made with `redirect: 'manual'`, and a redirect is refused with where it pointed, for the operator
 * to configure that URL instead.
 *
 * @example
 *   const res = await fetch(url, { method: 'POST', body, redirect: NO_REDIRECTS });
 *   const to = await redirectTarget(res); // 'https://peer.example/graphql', or undefined for any other answer
 */
export const NO_REDIRECTS = 'manual' as const;

/** The most of a Location shown: it goes into one-line errors and logs. */
const MAX_SHOWN_CHARS = 200;

/**
 * Where a redirect answer points, resolved against the URL asked and normalised by `URL` (so it
 * holds no control characters), or undefined if `res` is not a redirect. Discards the body.
 */
export async function redirectTarget(res: Response): Promise<string | undefined> {
  if (res.status < 300 || res.status > 399) return undefined;
  await res.body?.cancel();
  const location = res.headers.get('location'); // the other side's to choose
  if (!location) return 'nowhere (no Location)';
  try {
    const href = new URL(location, res.url).href;
    return href.length > MAX_SHOWN_CHARS ? `${href.slice(0, MAX_SHOWN_CHARS)}…` : href;
  } catch {
    return 'nowhere (an invalid Location)';
  }
}
