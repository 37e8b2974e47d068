import http from 'node:http';

export interface GraphQLError {
  message: string;
  extensions?: { code?: string } & Record<string, unknown>;
}
export interface GraphQLResponse<T> {
  data?: T;
  errors?: GraphQLError[];
}

/**
 * GraphQL over HTTP with node:http and a keep-alive agent: one socket per concurrent client,
 * reused for every request. Refuses any host but the loopback interface.
 */
export class GraphQLClient {
  readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;
  private readonly path: string;

  /** Sent as `Authorization: Bearer <key>` with every request when set (servers with API keys). */
  static apiKey: string | undefined;

  /** `apiKey`: this client's key, in place of the shared `GraphQLClient.apiKey`. */
  constructor(url: string, maxSockets: number, private readonly apiKey?: string) {
    const u = new URL(url);
    if (u.hostname !== '127.0.0.1') throw new Error(`benchmark traffic must go to 127.0.0.1, not ${u.hostname}`);
    this.host = u.hostname;
    this.port = Number(u.port);
    this.path = u.pathname;
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
  }

  /** POSTs a ready-made JSON body; resolves with the status and the raw response text. */
  postRaw(body: string, timeoutMs = 600_000): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.host,
          port: this.port,
          path: this.path,
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            ...((this.apiKey ?? GraphQLClient.apiKey) ? { authorization: `Bearer ${this.apiKey ?? GraphQLClient.apiKey}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`request timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  async request<T>(query: string, variables?: Record<string, unknown>, timeoutMs?: number): Promise<GraphQLResponse<T>> {
    const { status, text } = await this.postRaw(JSON.stringify({ query, variables }), timeoutMs);
    let parsed: GraphQLResponse<T>;
    try {
      parsed = JSON.parse(text) as GraphQLResponse<T>;
    } catch {
      throw new Error(`HTTP ${status}: ${text.slice(0, 300)}`);
    }
    return parsed;
  }

  /** Like request, but throws on GraphQL errors. */
  async data<T>(query: string, variables?: Record<string, unknown>, timeoutMs?: number): Promise<T> {
    const r = await this.request<T>(query, variables, timeoutMs);
    if (r.errors?.length || !r.data) throw new Error(`GraphQL error: ${JSON.stringify(r.errors ?? r).slice(0, 500)}`);
    return r.data;
  }

  close(): void {
    this.agent.destroy();
  }
}
