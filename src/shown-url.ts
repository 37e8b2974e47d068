/**
 * The part of a URL that could carry a secret — user:password, a query string, a fragment — or
 * null when it has none. Peers' and validators' URLs are shown in logs, `syncStatus` and
 * `/metrics`, so a token in one would be shown with it; a node's own key for its peers goes in
 * CHAINPROOF_SYNC_API_KEY instead.
 *
 * @example
 *   secretBearingPart(new URL('https://peer.example/graphql?token=x')); // 'a query string'
 */
export function secretBearingPart(url: URL): string | null {
  if (url.username !== '' || url.password !== '') return 'credentials (user:password@)';
  if (url.search !== '') return 'a query string';
  if (url.hash !== '') return 'a fragment';
  return null;
}
