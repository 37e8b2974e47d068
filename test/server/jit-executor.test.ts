import { describe, expect, it, vi } from 'vitest';
import { buildSchema, execute, GraphQLError, Kind, parse, type OperationDefinitionNode } from 'graphql';
import * as jit from 'graphql-jit';
import * as inputText from '../../src/server/input-text.js';
import { jitGateway } from '../../src/server/jit-executor.js';

vi.mock('graphql-jit', async (original) => {
  const actual = await original<typeof import('graphql-jit')>();
  return { ...actual, compileQuery: vi.fn(actual.compileQuery) };
});
vi.mock('../../src/server/input-text.js', async (original) => {
  const actual = await original<typeof import('../../src/server/input-text.js')>();
  return { ...actual, literalsProblem: vi.fn(actual.literalsProblem) };
});

class CodedError extends Error {
  readonly code = 'UNKNOWN_THING';
}

const schema = buildSchema(`
  input Filter { kind: String! = "all", limit: Int }
  type Line { n: Int! tags: [String!]! child: Line }
  type Query { lines(count: Int!): [Line!]! failing: Int filtered(filter: Filter!): String! }
  type Mutation { touch(filter: Filter!): String! append(s: String!, delayMs: Int!): [String!]! }
`);
/** What `append` has written, in the order it wrote it. */
const appended: string[] = [];
const line = (n: number): Record<string, unknown> => ({ n, tags: [`t${n}`], child: n > 0 ? line(n - 1) : null });
const resolvers: Record<string, (args: any) => unknown> = {
  lines: ({ count }) => Array.from({ length: count }, (_, i) => line(i)),
  failing: () => {
    throw new CodedError('no such thing');
  },
  filtered: ({ filter }) => filter.kind,
  touch: ({ filter }) => `touched ${filter.kind}`,
  append: async ({ s, delayMs }) => {
    await new Promise((r) => setTimeout(r, delayMs));
    appended.push(s);
    return [...appended];
  },
};
for (const type of [schema.getQueryType()!, schema.getMutationType()!]) {
  for (const [name, field] of Object.entries(type.getFields())) field.resolve = (_source, args) => resolvers[name]!(args);
}

/**
 * The same operation through graphql-js and through the gateway's executor, which runs it on
 * graphql-js the first time and compiled from the second.
 */
async function run(source: string, variables: Record<string, unknown> = {}) {
  const { executor } = await jitGateway(schema, 2).load({ apollo: {} });
  const document = parse(source);
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  const rc = () => ({ document, source, operation, operationName: undefined, request: { variables }, context: {} }) as never;
  const firstRun = await executor!(rc());
  return { firstRun, viaJit: await executor!(rc()), viaJs: await execute({ schema, document, variableValues: variables, contextValue: {} }) };
}

/** A fresh gateway's executor, taking an operation's text (its first definition) with no variables. */
async function sender() {
  const { executor } = await jitGateway(schema, 10).load({ apollo: {} });
  return (source: string) => {
    const document = parse(source);
    const operation = document.definitions[0] as OperationDefinitionNode;
    return executor!({ document, source, operation, operationName: undefined, request: { variables: {} }, context: {} } as never);
  };
}

describe('the jit executor', () => {
  it('answers exactly what graphql-js answers, nested lists and nulls included', async () => {
    const { firstRun, viaJit, viaJs } = await run(`query($c: Int!) { lines(count: $c) { n tags child { n child { n tags } } } }`, { c: 4 });
    expect(viaJs.data?.lines).toHaveLength(4);
    expect(JSON.stringify(viaJit)).toBe(JSON.stringify(viaJs));
    expect(JSON.stringify(firstRun)).toBe(JSON.stringify(viaJs));
  });

  it('answers introspection as graphql-js does', async () => {
    const { viaJit, viaJs } = await run(`{ __schema { queryType { name } types { name kind fields { name type { name kind ofType { name } } } } } }`);
    expect(viaJit).toEqual(viaJs);
  });

  it('returns a thrown error as a graphql-js GraphQLError that keeps the original, with extensions to read a code from', async () => {
    const { viaJit } = await run(`{ failing }`);
    const [error] = viaJit.errors!;
    expect(error).toBeInstanceOf(GraphQLError);
    expect(error!.originalError).toBeInstanceOf(CodedError);
    expect(error!.extensions).toEqual({});
    expect(error!.path).toEqual(['failing']);
    expect(error!.locations).toEqual([{ line: 1, column: 3 }]);
  });

  it('words variable errors as graphql-js does, on the variable definition, so Apollo answers BAD_USER_INPUT', async () => {
    const { viaJit, viaJs } = await run(`query($c: Int!) { lines(count: $c) { n } }`, { c: 'many' });
    expect(viaJit.data).toBeUndefined();
    expect(viaJit.errors!.map((e) => e.message)).toEqual(viaJs.errors!.map((e) => e.message));
    expect(viaJit.errors![0]!.nodes?.[0]?.kind).toBe(Kind.VARIABLE_DEFINITION);
  });

  it('compiles an operation the second time it is seen, once, mutations included', async () => {
    const compile = vi.mocked(jit.compileQuery);
    compile.mockClear();
    const send = await sender();
    await send(`{ lines(count: 1) { n } }`);
    expect(compile).toHaveBeenCalledTimes(0);
    for (let i = 0; i < 3; i++) await send(`{ lines(count: 1) { n } }`);
    expect(compile).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 3; i++) expect(await send(`mutation { touch(filter: {}) }`)).toEqual({ data: { touch: 'touched all' } });
    expect(compile).toHaveBeenCalledTimes(2);
  });

  it('checks a document\'s literals on its first run only, whether or not they had a problem', async () => {
    const check = vi.mocked(inputText.literalsProblem);
    check.mockClear();
    const send = await sender();
    for (let i = 0; i < 3; i++) expect(await send(`{ filtered(filter: { kind: "ok" }) }`)).toEqual({ data: { filtered: 'ok' } });
    expect(check).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 3; i++) expect((await send(`{ filtered(filter: { kind: "bad\\u0000" }) }`)).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(check).toHaveBeenCalledTimes(2);
  });

  it('runs a compiled mutation\'s root fields one after another, in document order', async () => {
    const { firstRun, viaJit } = await run(`mutation($a: String!, $b: String!) { first: append(s: $a, delayMs: 30) second: append(s: $b, delayMs: 0) }`, { a: 'x', b: 'y' });
    expect(firstRun).toEqual({ data: { first: ['x'], second: ['x', 'y'] } });
    // Run at once, the second field (no delay) would have written first.
    expect(viaJit).toEqual({ data: { first: ['x', 'y', 'x'], second: ['x', 'y', 'x', 'y'] } });
  });

  it('applies the default of an omitted non-null input field (left to graphql-js), in queries and mutations', async () => {
    expect((await run(`query($f: Filter!) { filtered(filter: $f) }`, { f: { limit: 1 } })).viaJit).toEqual({ data: { filtered: 'all' } });
    expect((await run(`mutation($f: Filter!) { touch(filter: $f) }`, { f: {} })).viaJit).toEqual({ data: { touch: 'touched all' } });
  });
});

