import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { LedgerService } from '../ledger/ledger-service.js';
import type { RequestContext } from '../resolvers/context.js';
import { formatError } from './errors.js';
import { buildChainproofSchema } from './schema.js';

export interface HttpServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** GraphQL over HTTP (Apollo) and WebSocket (graphql-ws) on one port, plus health endpoints. */
export async function startHttpServer(config: Config, ledger: LedgerService, log: Logger): Promise<HttpServer> {
  const schema = await buildChainproofSchema();
  const app = express();
  app.disable('x-powered-by');
  const server = createServer(app);
  const wss = new WebSocketServer({ server, path: '/graphql' });
  // graphql-ws does not go through Apollo: give its errors the same codes and masking.
  const format = formatError(config.development);
  const formatAll = (errors: readonly GraphQLError[]) => errors.map((e) => format(e.toJSON(), e));
  const wsCleanup = useServer<Record<string, unknown>, Record<string, unknown>>(
    {
      schema,
      context: (): RequestContext => ({ ledger, requestId: randomUUID() }),
      onError: (_ctx, _id, _payload, errors) => formatAll(errors),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: formatAll(result.errors) } : undefined,
    },
    wss,
  );
  const apollo = new ApolloServer<RequestContext>({
    schema,
    formatError: formatError(config.development),
    includeStacktraceInErrorResponses: config.development,
    introspection: true,
    // serve.ts owns signals: it drains appends and closes the database after Apollo stops.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      { async serverWillStart() { return { async drainServer() { await wsCleanup.dispose(); } }; } },
    ],
  });
  await apollo.start();

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', async (_req, res) => {
    try {
      await ledger.ledger('main');
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'unavailable' });
    }
  });
  app.use(
    '/graphql',
    express.json({ limit: config.maxBodyBytes }),
    expressMiddleware(apollo, {
      context: async ({ req }): Promise<RequestContext> => ({
        ledger,
        requestId: (req.headers['x-request-id'] as string | undefined) ?? randomUUID(),
      }),
    }),
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
