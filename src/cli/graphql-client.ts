import { boundedText } from '../bounded-body.js';
import { ChainproofError, type ChainproofErrorCode } from '../errors.js';
import { NO_REDIRECTS, redirectTarget } from '../redirect.js';
import { shown } from './printable.js';
import type { ServerAddress } from './server-options.js';
import { mismatch, type Shape } from './shape.js';

/**
 * The most of an answer the CLI reads: twice the largest the server sends (a trace holds up to
 * 32 MB of values). Past it the server is streaming without end, and memory would go with it.
 */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** An error code as the server sends them; anything else is not an answer the CLI can act on. */
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Enough of a server's error message to act on, still one line however long it ran. */
const MAX_MESSAGE_CHARS = 500;

export type GraphqlCall = <T>(query: string, variables: Record<string, unknown>, shape: { readonly [field: string]: Shape }) => Promise<T>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A GraphQL call to a running server, whose answer is checked against `shape` before it is
 * returned. The server's errors come back as ChainproofErrors with its code and its message made
 * one printable line; answers no Chainproof server gives (no code, wrong shape, no end) are
 * PEER_MISBEHAVED.
 */
export function graphqlClient(server: ServerAddress): GraphqlCall {
  const { url, key, timeoutMs } = server;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed?.protocol !== 'http:' && parsed?.protocol !== 'https:') throw new ChainproofError('BAD_USER_INPUT', `--url must be an http(s) URL, e.g. http://localhost:4000/graphql (got ${url})`);
  const timedOut = (cause: unknown) => new ChainproofError('UNAVAILABLE', `${url} did not answer within ${timeoutMs / 1000} s (--timeout)`, { cause });
  const misbehaved = (why: string) => new ChainproofError('PEER_MISBEHAVED', `${url} ${why}`);
  return async <T>(query: string, variables: Record<string, unknown>, shape: { readonly [field: string]: Shape }): Promise<T> => {
    // One deadline for the request and its whole answer: a server may send headers and then stall.
    const signal = AbortSignal.timeout(timeoutMs);
    let res: Response;
    let text: string | undefined;
    let redirect: string | undefined;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({ query, variables }),
        signal,
        redirect: NO_REDIRECTS,
      });
      redirect = await redirectTarget(res);
      if (redirect === undefined) text = await boundedText(res, MAX_ANSWER_BYTES);
    } catch (cause) {
      if (signal.aborted) throw timedOut(cause);
      throw new ChainproofError('UNAVAILABLE', `cannot reach ${url}`, { cause });
    }
    if (redirect !== undefined) throw new ChainproofError('BAD_USER_INPUT', `${url} answered HTTP ${res.status}, a redirect to ${redirect}: give --url the address the server answers at`);
    if (text === undefined) throw misbehaved(`answered more than ${MAX_ANSWER_BYTES} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const errors = isObject(body) && Array.isArray(body.errors) && body.errors.length > 0 ? body.errors : undefined;
    if (errors) {
      const e: unknown = errors[0];
      const code: unknown = isObject(e) && isObject(e.extensions) ? e.extensions.code : undefined;
      if (typeof code !== 'string' || !CODE.test(code)) throw misbehaved('answered an error without a code');
      const message = shown(isObject(e) && typeof e.message === 'string' ? e.message : '');
      // The server's codes are its own (RATE_LIMITED, INTERNAL_SERVER_ERROR…): passed on as they are.
      throw new ChainproofError(code as ChainproofErrorCode, message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message);
    }
    // A proxy's or a load balancer's page, not the server's: it is down or overloaded.
    if (!res.ok) throw new ChainproofError('UNAVAILABLE', `${url} answered HTTP ${res.status}`);
    if (!isObject(body) || !isObject(body.data)) throw misbehaved(`answered HTTP ${res.status} without data`);
    const wrong = mismatch(body.data, shape, 'data');
    if (wrong) throw misbehaved(`answered wrongly: ${wrong}`);
    return body.data as T;
  };
}
