import { auditServer } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverBackend } from '../support/db.js';
import { startServer, type ServerProcess } from '../support/server.js';

/** The GraphQL-over-HTTP audit suite that ships with graphql-http: every MUST passes. */
let server: ServerProcess;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  let env: Record<string, string>;
  ({ env, cleanup } = await serverBackend());
  server = await startServer(env);
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await cleanup?.();
});

describe('GraphQL over HTTP (graphql-http serverAudits)', () => {
  it('passes every MUST audit', async () => {
    const results = await auditServer({ url: server.url });
    const failed = results.filter((r) => r.status !== 'ok');
    const mustFailures = failed.filter((r) => r.name.startsWith('MUST'));
    expect(mustFailures.map((r) => `${r.name}: ${'reason' in r ? r.reason : ''}`)).toEqual([]);
    // The SHOULDs that fail are reported, and must stay the known, explained ones (BENCHMARKS/README).
    const shoulds = failed.filter((r) => r.name.startsWith('SHOULD')).map((r) => r.name);
    console.log(`graphql-http audit: ${results.length} audits, ${results.length - failed.length} ok; SHOULD failures:\n${shoulds.join('\n')}`);
    expect(results.length).toBeGreaterThan(30);
  });
});
