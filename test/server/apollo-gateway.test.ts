import { describe, expect, it } from 'vitest';
import { ApolloServer, HeaderMap } from '@apollo/server';
import type { GatewayGraphQLRequestContext, GatewayInterface } from '@apollo/server-gateway-interface';
import { buildSchema } from 'graphql';
import { jitGateway } from '../../src/server/jit-executor.js';

/**
 * `patches/@apollo+server+5.5.1.patch`. Apollo hands a gateway (our jit executor is one) a
 * request context whose `response.http.status` it built as an object literal with its own
 * get/set closures. V8 keeps such accessors in the old generation, so every request's context,
 * answer included, outlived young-generation collections (bench/HISTORY.md, run 27). The patch
 * puts the accessors on a class; these tests fail if `npm install` did not apply it.
 */
describe('the request context Apollo hands a gateway', () => {
  const schema = buildSchema('type Query { answer: Int! }');
  schema.getQueryType()!.getFields().answer!.resolve = () => 42;

  /** Our gateway (the jit executor), with a look at the request context Apollo hands it. */
  async function serve(onExecute: (rc: GatewayGraphQLRequestContext) => void) {
    const jit = jitGateway(schema);
    const gateway: GatewayInterface = {
      ...jit,
      async load(options) {
        const { executor } = await jit.load(options);
        return {
          executor: (rc) => {
            onExecute(rc);
            return executor!(rc);
          },
        };
      },
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
    let statusBefore: number | undefined = -1;
    const answer = await serve((rc) => {
      statusBefore = rc.response!.http!.status;
      rc.response!.http!.status = 299;
      rc.response!.http!.headers.set('x-gateway', 'yes');
    });
    expect(statusBefore).toBeUndefined();
    expect(answer.status).toBe(299);
    expect(answer.headers.get('x-gateway')).toBe('yes');
    expect(answer.body.kind === 'complete' && JSON.parse(answer.body.string)).toEqual({ data: { answer: 42 } });
  });
});
