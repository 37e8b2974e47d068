import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { Logger } from 'pino';
import { errorBody } from './errors.js';
import { RATE_LIMITED_BODY, type RateLimit } from './rate-limit.js';
import { tagRequest } from './request-log.js';

export interface GraphqlHttpOptions<C> {
  maxBodyBytes: number;
  rateLimit: RateLimit;
  /** The request's context; `rawBody` is the exact bytes a signed request's signature covers. */
  context(req: IncomingMessage, rawBody: Buffer): Promise<C>;
}

/**
 * GraphQL over HTTP on node:http, straight into Apollo: rate limit, body (size-capped, JSON),
 * context, answer. Express's router and body parser cost more per request than the smallest
 * query itself, and kept enough garbage alive to make young-generation collections the
 * largest source of latency tails.
 *
 * @example
 *   createServer((req, res) => isGraphqlPath(req.url) ? graphql(req, res) : app(req, res))
 */
export function graphqlHttpHandler<C extends BaseContext>(apollo: ApolloServer<C>, opts: GraphqlHttpOptions<C>, log: Logger) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    tagRequest(req, res, log);
    const wait = opts.rateLimit(req.socket.remoteAddress, req.headers.authorization);
    if (wait > 0) {
      res.setHeader('retry-after', String(wait));
      return send(res, 429, RATE_LIMITED_BODY);
    }
    readBody(req, opts.maxBodyBytes)
      .then(async (raw) => {
        const parsed = parseBody(req, raw);
        if (parsed === BAD_JSON) return send(res, 400, errorBody('request body is not valid JSON', 'BAD_REQUEST'));
        const headers = new HeaderMap();
        for (const [key, value] of Object.entries(req.headers)) {
          if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
        }
        const url = req.url ?? '';
        const q = url.indexOf('?');
        const answer = await apollo.executeHTTPGraphQLRequest({
          httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search: q < 0 ? '' : url.slice(q), body: parsed },
          context: () => opts.context(req, raw),
        });
        for (const [key, value] of answer.headers) res.setHeader(key, value);
        res.statusCode = answer.status ?? 200;
        // Sent as bytes. JSON.stringify returns a long answer as a rope of short strings, and
        // node:http flattens a string body twice (to measure it, then again behind the headers)
        // before encoding it: three copies of a 1.3 MB trace, 10 % of its CPU (bench/HISTORY.md, run 26).
        if (answer.body.kind === 'complete') return void res.end(Buffer.from(answer.body.string));
        for await (const chunk of answer.body.asyncIterator) res.write(chunk);
        res.end();
      })
      .catch((e: unknown) => {
        if (e instanceof BodyError) return send(res, e.status, errorBody(e.message, e.code));
        log.error({ err: e, requestId: req.headers['x-request-id'] }, 'GraphQL request failed');
        if (res.headersSent) res.destroy();
        else send(res, 500, errorBody('internal error', 'INTERNAL_SERVER_ERROR'));
      });
  };
}

/** The paths GraphQL answers on: `/graphql`, with or without a trailing slash or query string. */
export function isGraphqlPath(url: string | undefined): boolean {
  if (!url?.startsWith('/graphql')) return false;
  const rest = url.charCodeAt(8);
  return Number.isNaN(rest) || rest === 63 /* ? */ || (rest === 47 /* / */ && (url.length === 9 || url.charCodeAt(9) === 63));
}

class BodyError extends Error {
  constructor(
    readonly status: number,
    readonly code: 'BODY_TOO_LARGE' | 'UNSUPPORTED_MEDIA_TYPE',
    message: string,
  ) {
    super(message);
  }
}

const BAD_JSON = Symbol('bad JSON');

/** The request body, refused past `limit` bytes without reading (or keeping) the rest. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    req.resume();
    return Promise.reject(new BodyError(415, 'UNSUPPORTED_MEDIA_TYPE', `content-encoding ${encoding} is not accepted; send the body uncompressed`));
  }
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const tooLarge = () => new BodyError(413, 'BODY_TOO_LARGE', 'request body too large');

/**
 * A JSON body as a value (an object or an array: a bare scalar is not a GraphQL request);
 * other media types are left to Apollo, which refuses them (and cross-site forms) itself.
 */
function parseBody(req: IncomingMessage, raw: Buffer): unknown {
  if (req.method !== 'POST' || !isJson(req.headers['content-type'])) return undefined;
  if (raw.length === 0) return {};
  try {
    const value: unknown = JSON.parse(raw.toString('utf8'));
    return typeof value === 'object' && value !== null ? value : BAD_JSON;
  } catch {
    return BAD_JSON;
  }
}

function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === 'application/json' || type.endsWith('+json');
}

function send(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(body);
}
