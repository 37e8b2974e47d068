import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/**
 * Gives a request its id (the client's X-Request-Id if it looks like one, else a fresh one),
 * echoes it, and logs one line when the response is finished.
 */
export function tagRequest(req: IncomingMessage, res: ServerResponse, log: Logger): void {
  const started = performance.now();
  const requestId = requestIdOf(req.headers['x-request-id']);
  req.headers['x-request-id'] = requestId;
  res.setHeader('x-request-id', requestId);
  res.on('finish', () =>
    log.info({ requestId, method: req.method, path: req.url?.split('?')[0], status: res.statusCode, ms: Math.round(performance.now() - started) }, 'request'),
  );
}

/** The client's id (attacker-controlled, and echoed into logs) only if it is short and plain. */
function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && /^[A-Za-z0-9._-]{1,128}$/.test(header) ? header : randomUUID();
}
