import { describe, expect, it } from 'vitest';
import { ApolloServer, HeaderMap } from '@apollo/server';
import type { GatewayGraphQLRequestContext, GatewayInterface } from '@apollo/server-gateway-interface';
import { buildSchema, execute, printSchema } from 'graphql';

/**
 * `patches/@apollo+server+5.5.1.patch`. Apollo hands a gateway (our jit executor is one) a
 * request context whose `response.http.status` it built as an object literal with its own
 * get/set closures. V8 keeps such accessors in the old generation, so every request's context,
 * answer included, outlived young-generation collections (BENCHMARKS.md, run 27). The patch
 * puts the accessors on a class; these tests fail if `npm install` did not apply it.
 */
describe('the request context Apollo hands a gateway', () => {
  const schema = buildSchema('type Query { answer: Int! }');

  async function serve(onExecute: (rc: GatewayGraphQLRequestContext) => void) {
    const gateway: GatewayInterface = {
      async load() {
        return {
          executor: async (rc) => {
            onExecute(rc);
            return execute({ schema, document: rc.document, rootValue: { answer: 42 } }) as never;
          },
        };
      },
      onSchemaLoadOrUpdate(callback) {
        callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
        return () => undefined;
      },
      async stop() {},
    };
    const apollo = new ApolloServer({ gateway });
    await apollo.start();
    const headers = new HeaderMap([['content-type', 'application/json']]);
    const answer = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers, search: '', body: { query: '{ answer }' } },
      context: async () => ({}),
    });
    await apollo.stop();
    return answer;
  }

  it('reads and writes the HTTP status through accessors on a prototype, not closures of its own', async () => {
    let own: PropertyDescriptor | undefined;
    let inherited: PropertyDescriptor | undefined;
    await serve((rc) => {
      own = Object.getOwnPropertyDescriptor(rc.response!.http!, 'status');
      inherited = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(rc.response!.http!), 'status');
    });
    expect(own).toBeUndefined();
    expect(typeof inherited?.get).toBe('function');
    expect(typeof inherited?.set).toBe('function');
  });

  it('still carries a status and headers the gateway sets to the HTTP answer', async () => {
    const answer = await serve((rc) => {
      expect(rc.response!.http!.status).toBeUndefined();
      rc.response!.http!.status = 299;
      rc.response!.http!.headers.set('x-gateway', 'yes');
    });
    expect(answer.status).toBe(299);
    expect(answer.headers.get('x-gateway')).toBe('yes');
    expect(answer.body.kind === 'complete' && JSON.parse(answer.body.string)).toEqual({ data: { answer: 42 } });
  });
});
