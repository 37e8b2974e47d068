import type { GatewayInterface } from '@apollo/server-gateway-interface';
import {
  execute,
  getNamedType,
  GraphQLError,
  isInputObjectType,
  isNonNullType,
  printSchema,
  typeFromAST,
  type ExecutionResult,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values.js';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { literalsProblem, variablesProblem } from './input-text.js';

/** An operation seen before: how often, and its compiled form once it has one. */
interface Plan {
  runs: number;
  jit: CompiledQuery | null;
  /** What is wrong with the document's literals (null: nothing), found on its first run. */
  literals?: GraphQLError | null;
}

/**
 * Apollo parses and validates; reads execute through graphql-jit. It compiles an operation into
 * plain JavaScript, which on a long answer (a 1,000-line trace: ~37,000 fields) does the work of
 * graphql-js's per-field execution for a fraction of its CPU and garbage. Compiling costs more
 * than one execution, so an operation is compiled the second time it is seen: a stream of
 * one-off queries (a client's, or an attacker's) runs on graphql-js and compiles nothing.
 * Mutations too (graphql-jit runs their root fields one after another, as graphql-js does): their
 * answers are small, but their variables can be large, and a compiled operation coerces them with
 * code made for its types. graphql-js's generic coercion of a 1,000-audit `recordQueries` took ≈ 6 %
 * of the server's main thread (bench/HISTORY.md, run 25).
 *
 * Apollo Server 4+ takes a custom executor only through its gateway interface, so this is
 * one: a fixed schema and an executor with a bounded cache of operations.
 */
export function jitGateway(schema: GraphQLSchema, cacheSize = 1_000): GatewayInterface {
  // Keyed by the operation's text: clients send the same few documents over and over.
  const plans = new Map<string, Plan>();
  const planOf = (key: string): Plan => {
    let plan = plans.get(key);
    if (plan) {
      plans.delete(key); // least recently used goes first
    } else {
      plan = { runs: 0, jit: null };
      if (plans.size >= cacheSize) plans.delete(plans.keys().next().value!);
    }
    plans.set(key, plan);
    return plan;
  };
  return {
    async load() {
      return {
        executor: async (rc) => {
          // Apollo hands on a request whose operationName names no operation; graphql-js would run the only one there is.
          if (!rc.operation) return { errors: [unresolvedOperation(rc.request.operationName)] };
          const operation = rc.operation as OperationDefinitionNode;
          const operationName = rc.operationName ?? undefined;
          const variables = rc.request.variables ?? {};
          const plan = planOf(`${operationName ?? ''}\u0000${rc.source}`);
          // Not `??=`: a document without a problem keeps null, which `??=` would take for not checked yet.
          if (plan.literals === undefined) plan.literals = literalsProblem(rc.document) ?? null;
          const problem = plan.literals ?? variablesProblem(variables);
          if (problem) return { errors: [problem] };
          if (++plan.runs === 2 && jitCanRun(schema, operation)) {
            const made = compileQuery(schema, rc.document, operationName);
            if (isCompiledQuery(made)) plan.jit = made;
          }
          if (!plan.jit) return execute({ schema, document: rc.document, operationName, variableValues: variables, contextValue: rc.context });
          const result = await plan.jit.query(undefined, rc.context, variables);
          // No data at all: the variables did not coerce. graphql-js words (and locates) that the
          // way Apollo recognises as BAD_USER_INPUT.
          if (result.data === undefined && result.errors?.length) {
            const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
            if (coerced.errors) return { errors: coerced.errors };
          }
          return withGraphQLErrors(result);
        },
      };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => undefined;
    },
    async stop() {},
  };
}

/** A request whose operation cannot be chosen, in graphql-js's words and with Apollo's code. */
export const unresolvedOperation = (name: string | null | undefined) =>
  new GraphQLError(name ? `Unknown operation named "${name}".` : 'Must provide operation name if query contains multiple operations.', {
    extensions: { code: 'OPERATION_RESOLUTION_FAILURE' },
  });

/**
 * Queries and mutations (subscriptions go through graphql-ws), and none whose variables reach an
 * input field that is non-null with a default: graphql-jit 0.8 refuses such a field when omitted
 * instead of applying its default.
 */
function jitCanRun(schema: GraphQLSchema, operation: OperationDefinitionNode): boolean {
  if (operation.operation === 'subscription') return false;
  const seen = new Set<GraphQLNamedType>();
  const defaultsRequired = (type: GraphQLNamedType): boolean => {
    if (!isInputObjectType(type) || seen.has(type)) return false;
    seen.add(type);
    return Object.values(type.getFields()).some(
      (f) => (isNonNullType(f.type) && f.defaultValue !== undefined) || defaultsRequired(getNamedType(f.type)),
    );
  };
  return !(operation.variableDefinitions ?? []).some((v) => {
    const type = typeFromAST(schema, v.type as never);
    return type !== undefined && defaultsRequired(getNamedType(type));
  });
}

/**
 * graphql-jit's errors only look like graphql-js's: they lack `extensions` unless the thrown
 * error had some, and Apollo reads `extensions.code` of every error. Rebuilt as the real thing,
 * keeping the thrown error (`originalError`) that formatError takes the code from.
 */
function withGraphQLErrors(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  const errors = result.errors.map((e) => {
    const error = new GraphQLError(e.message, { path: e.path, originalError: e.originalError ?? undefined, extensions: e.extensions });
    (error as { locations?: GraphQLError['locations'] }).locations = e.locations;
    return error;
  });
  return { ...result, errors };
}
