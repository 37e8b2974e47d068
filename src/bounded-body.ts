/**
 * The body of an HTTP answer from another server (a peer, a validator: attacker-controlled) as
 * UTF-8 text, read only as far as `maxBytes`: past that the stream is cancelled and undefined
 * comes back. A declared Content-Length over the limit is refused before reading anything; an
 * answer without one (chunked) is counted as it arrives, where `res.text()` would have taken
 * whatever the other side kept sending into memory before anything could check its size.
 *
 * @example
 *   const text = await boundedText(await fetch(url), 64 * 1024 * 1024);
 *   if (text === undefined) throw new Error('answer too large');
 */
export async function boundedText(res: Response, maxBytes: number): Promise<string | undefined> {
  if (Number(res.headers.get('content-length') ?? 0) > maxBytes) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    if (bytes > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, bytes).toString('utf8');
}
