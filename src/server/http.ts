import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import express from 'express';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { Config } from '../config.js';
import { isChainproofError } from '../errors.js';
import type { ApiKeyService } from '../auth/api-keys.js';
import { principalFrom, principalOfRequest, type SignedRequest } from '../auth/credentials.js';
import type { KnownDidService } from '../auth/known-dids.js';
import { unauthenticated } from '../auth/errors.js';
import type { GovernanceService } from '../governance/governance-service.js';
import type { WitnessService } from '../witness/witness-service.js';
import type { CosignatureCollector } from '../witness/cosignatures.js';
import type { RulesService } from '../rules/rules-service.js';
import { PEER_HEADER } from '../sync/peer-client.js';
import type { SyncService } from '../sync/sync-service.js';
import { ANONYMOUS, type Principal } from '../auth/roles.js';
import type { LedgerService } from '../ledger/ledger-service.js';
import { AUDIT_WAIT_LIMIT_MS, OperationAuditor, operationAuditPlugin } from '../provenance/audit-plugin.js';
import type { ProvenanceService } from '../provenance/service.js';
import type { RequestContext } from '../resolvers/context.js';
import { formatError } from './errors.js';
import { limitRules } from './limits.js';
import { sharedSubscriptionExecution } from './fanout.js';
import { wsOperationHooks } from './ws-operations.js';
import { nextMessages, serveGraphqlWs, type WsExtra } from './ws-transport.js';
import { graphqlHttpHandler, isGraphqlPath } from './graphql-http.js';
import { jitGateway } from './jit-executor.js';
import { rateLimit, rateLimiter } from './rate-limit.js';
import { sharedAnswer } from './shared-answer.js';
import { admitWebSockets } from './ws-admission.js';
import { tagRequest } from './request-log.js';
import { buildChainproofSchema } from './schema.js';
import { watchKeys } from './ws-key-watch.js';

export interface HttpServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** GraphQL over HTTP (Apollo) and WebSocket (graphql-ws) on one port, plus health endpoints. */
export interface HttpDeps {
  ledger: LedgerService;
  keys: ApiKeyService;
  dids: KnownDidService;
  governance: GovernanceService;
  cosignatures: CosignatureCollector;
  /** This node's tlog-witness, when it has a key to cosign with. */
  witness?: WitnessService;
  provenance: ProvenanceService;
  rules: RulesService;
  sync: SyncService;
  metrics: Registry;
  dataSource: DataSource;
  onSubscriptionExecution?: () => void;
}

export async function startHttpServer(config: Config, deps: HttpDeps, log: Logger): Promise<HttpServer> {
  const { ledger, keys } = deps;
  const services = {
    ledger, keys, dids: deps.dids, governance: deps.governance, cosignatures: deps.cosignatures,
    provenance: deps.provenance, rules: deps.rules, sync: deps.sync,
  };
  const schema = await buildChainproofSchema({ publicReads: config.publicReads });
  const app = express();
  // GraphQL answers POSTs, which no cache revalidates: an ETag would hash every response (a millisecond on a long trace).
  app.set('etag', false);
  app.disable('x-powered-by');
  let graphql: ReturnType<typeof graphqlHttpHandler> | undefined; // set once Apollo has started
  // GraphQL skips Express (see graphql-http.ts); the other routes stay on it.
  const server = createServer((req, res) => (graphql && isGraphqlPath(req.url) ? graphql(req, res) : app(req, res)));
  // A message may be as large as an HTTP body, no larger (ws would take 100 MiB, before any credentials).
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: config.maxBodyBytes });
  // `ws` re-emits the HTTP server's errors: a failed listen is answered below; later ones are logged, not left unhandled.
  wss.on('error', (err) => log.error({ err }, 'HTTP server error'));
  // graphql-ws does not go through Apollo: give its errors the same codes and masking.
  const format = formatError(config.development, log);
  const formatAll = (errors: readonly GraphQLError[]) => errors.map((e) => format(e.toJSON(), e));
  const fanout = sharedSubscriptionExecution({
    formatErrors: formatAll,
    onExecute: () => deps.onSubscriptionExecution?.(),
    maxWaiting: config.subscriberQueue,
    audienceOf: (context) => (context as RequestContext).principal.role ?? 'anonymous',
    started: (args, refusal) => operations.subscriptionStarted(args, refusal),
  });
  const auditor = config.auditAgents.length > 0 ? new OperationAuditor(deps.provenance, new Set(config.auditAgents), 'main', log, config.auditBeforeAnswer ? AUDIT_WAIT_LIMIT_MS : 0) : undefined;
  // One set of buckets for GraphQL, whichever transport brings the operation.
  const graphqlRateLimit = rateLimit({ perIp: config.rateLimitPerIp, perKey: config.rateLimitPerKey, burstSeconds: 2 });
  admitWebSockets(wss, { maxPerIp: config.wsMaxConnectionsPerIp, rateLimit: graphqlRateLimit });
  /** What onConnect learnt of a socket's client (the credential only ever hashed, by the rate limiter). */
  const clientOf = (extra: WsExtra) => {
    const e = extra as WsExtra & { principal?: Principal; credential?: string };
    return { principal: e.principal ?? ANONYMOUS, ip: extra.request.socket.remoteAddress, credential: e.credential };
  };
  const keyed = watchKeys(keys, (extra) => clientOf(extra).credential);
  // The same limits, codes, rate limits and audit as Apollo's path below.
  const operations = wsOperationHooks({
    schema,
    maxOperations: config.wsMaxOperations,
    maxTokens: config.maxTokens,
    rules: [...limitRules(config), ...(config.introspection ? [] : [NoSchemaIntrospectionCustomRule])],
    formatErrors: formatAll,
    rateLimit: graphqlRateLimit,
    auditor,
    clientOf,
    admits: keyed.admits,
  });
  const wsCleanup = serveGraphqlWs<Record<string, unknown>>(
    {
      schema,
      // Credentials come once, in connection_init; bad ones close the socket with 4403 Forbidden.
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const credential = params.authorization ?? params.Authorization ?? params.apiKey;
        // A refused credential is 4403; a failed look-up closes the socket as an internal error, logged.
        const principal = await admittedPrincipal(credential, keys, config.publicReads);
        if (principal === null) return false;
        Object.assign(ctx.extra, { principal, credential: typeof credential === 'string' ? credential : undefined });
        if (principal.role !== null) keyed.add(ctx.extra);
        return true;
      },
      onClose: (ctx) => keyed.remove(ctx.extra),
      context: (ctx, id) =>
        fanout.deliverTo<RequestContext>(
          {
            ...services,
            principal: clientOf(ctx.extra).principal,
            requestId: randomUUID(),
          },
          nextMessages(ctx.extra, id, config.wsMaxBufferedBytes),
        ),
      onError: (ctx, _id, _payload, errors) => {
        if (errors.some((e) => (e.originalError as { code?: string } | undefined)?.code === 'SLOW_CONSUMER')) {
          ctx.extra.close(4429, errors[0]!.message);
        }
        return formatAll(errors);
      },
      onSubscribe: operations.onSubscribe,
      subscribe: fanout.subscribe,
      onOperation: operations.onOperation,
      onNext: operations.onNext,
    },
    wss,
    log,
    { maxBufferedBytes: config.wsMaxBufferedBytes },
  );
  const apollo = new ApolloServer<RequestContext>({
    gateway: jitGateway(schema),
    formatError: format,
    includeStacktraceInErrorResponses: config.development,
    introspection: config.introspection,
    csrfPrevention: true,
    validationRules: limitRules(config),
    parseOptions: { maxTokens: config.maxTokens },
    // Compact JSON: Apollo's default indents every response, a third more bytes to write on a long trace.
    stringifyResult: (result) => JSON.stringify(result),
    // serve.ts owns signals: it drains appends and closes the database after Apollo stops.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      ...(config.landingPage ? [] : [ApolloServerPluginLandingPageDisabled()]),
      // Nothing here is HTTP-cacheable; computing per-field cache hints cost ~15% of execution.
      ApolloServerPluginCacheControlDisabled(),
      ...(auditor ? [operationAuditPlugin(auditor)] : []),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              keyed.stop();
              await wsCleanup.dispose();
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  app.use((req, res, next) => {
    tagRequest(req, res, log);
    next();
  });
  /** Liveness: the process serves HTTP. */
  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  // Probes and scrapes come unauthenticated and each costs database round trips: rate-limited per
  // address like the witness endpoint, and answers asked for together are shared.
  const probeLimit = rateLimiter({ perIp: config.rateLimitPerIp, perKey: 0, burstSeconds: 2 });
  /** Readiness: the database answers and no migration is pending (checked at most once a second). */
  const readiness = sharedAnswer(1000, async (): Promise<{ status: string }> => {
    try {
      await deps.dataSource.query('SELECT 1');
      return { status: (await deps.dataSource.showMigrations()) ? 'migrations pending' : 'ready' };
    } catch {
      return { status: 'database unreachable' };
    }
  });
  app.get('/readyz', probeLimit, async (_req, res) => {
    const answer = await readiness();
    res.status(answer.status === 'ready' ? 200 : 503).json(answer);
  });
  const scrape = sharedAnswer(0, () => deps.metrics.metrics());
  app.get('/metrics', probeLimit, async (req, res) => {
    // Ledger names, peers' and validators' URLs, counts of what was written: reads, so where reads
    // need a key, so does a scrape (Prometheus sends it as `authorization: {credentials: …}`).
    let admitted: Principal | null;
    try {
      admitted = await admittedPrincipal(req.headers.authorization, keys, config.publicReads);
    } catch (err) {
      log.error({ err }, 'could not check the key of a scrape');
      return void res.status(503).json({ error: 'UNAVAILABLE: the key could not be checked' });
    }
    if (admitted === null) {
      return void res.status(401).setHeader('www-authenticate', 'Bearer').json({ error: 'UNAUTHENTICATED: /metrics needs an API key (any role) when reads are not public' });
    }
    res.setHeader('content-type', deps.metrics.contentType);
    res.send(await scrape());
  });
  if (deps.witness) {
    const witness = deps.witness;
    // c2sp.org/tlog-witness: plain text in, plain text out; any client may submit.
    app.post(
      '/witness/add-checkpoint',
      rateLimiter({ perIp: config.rateLimitPerIp, perKey: 0, burstSeconds: 2 }),
      express.text({ type: () => true, limit: '64kb' }),
      async (req, res) => {
        const r = await witness.addCheckpoint(typeof req.body === 'string' ? req.body : '');
        // A Buffer, or Express appends "; charset=utf-8" to a type the spec fixes exactly.
        res.status(r.status).setHeader('content-type', r.contentType).send(Buffer.from(r.body, 'utf8'));
      },
    );
  }
  graphql = graphqlHttpHandler(
    apollo,
    {
      maxBodyBytes: config.maxBodyBytes,
      rateLimit: graphqlRateLimit,
      context: async (req, rawBody): Promise<RequestContext> => {
        let principal: Principal;
        try {
          principal = await principalOfRequest(req.headers.authorization, signedRequestOf(req, rawBody, config.originPrefix), keys, deps.dids);
        } catch (e) {
          // Only a refused credential is a 401; a database that fails to answer is the server's fault, answered and logged as such.
          if (!isChainproofError(e) || e.code !== 'UNAUTHENTICATED') throw e;
          throw new GraphQLError(e.message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
        }
        const peer = req.headers[PEER_HEADER];
        return {
          ...services,
          principal,
          requestId: req.headers['x-request-id'] as string,
          peerOrigin: typeof peer === 'string' && peer.length <= 512 ? peer : undefined,
        };
      },
    },
    log,
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  return {
    server,
    url: `http://${host}:${port}/graphql`,
    async close() {
      await apollo.stop();
    },
  };
}

/**
 * Who presents `credential` (attacker-controlled: `Bearer <key>`), if they may read: null for a
 * refused key, or for none where reads are not public. Throws if the keys cannot be read.
 */
async function admittedPrincipal(credential: unknown, keys: ApiKeyService, publicReads: boolean): Promise<Principal | null> {
  try {
    const principal = await principalFrom(credential, keys);
    return publicReads || principal.role !== null ? principal : null;
  } catch (e) {
    if (isChainproofError(e) && e.code === 'UNAUTHENTICATED') return null;
    throw e;
  }
}

function signedRequestOf(req: IncomingMessage, body: Buffer, audience: string): SignedRequest | undefined {
  const did = req.headers['x-chainproof-did'];
  const timestamp = req.headers['x-chainproof-timestamp'];
  const signature = req.headers['x-chainproof-signature'];
  if (did === undefined && timestamp === undefined && signature === undefined) return undefined;
  if (typeof did !== 'string' || typeof timestamp !== 'string' || typeof signature !== 'string') {
    throw unauthenticated('a signed request needs X-Chainproof-DID, X-Chainproof-Timestamp and X-Chainproof-Signature');
  }
  return {
    audience,
    did,
    timestamp,
    signature,
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    body,
  };
}
