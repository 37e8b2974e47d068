import {
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import type { OperationResult, SubscribePayload } from 'graphql-ws';
import type { Principal } from '../auth/roles.js';
import type { OperationAuditor } from '../provenance/audit-plugin.js';
import { inputProblem } from './input-text.js';
import { unresolvedOperation } from './jit-executor.js';
import type { RateLimit } from './rate-limit.js';
import type { WsExtra } from './ws-transport.js';

export interface WsOperationOptions {
  schema: GraphQLSchema;
  /**
   * Operations one connection may have running at once. Each subscription holds a fan-out
   * registration and a queue for as long as the socket lives, so one socket must not open them
   * without bound.
   */
  maxOperations: number;
  /** Parse limit, as Apollo's `parseOptions.maxTokens`. */
  maxTokens: number;
  /** Validation rules beyond graphql-js's own (the limit rules; no introspection where it is off). */
  rules: readonly ValidationRule[];
  formatErrors(errors: readonly GraphQLError[]): GraphQLFormattedError[];
  rateLimit: RateLimit;
  auditor?: OperationAuditor;
  /** Who is on a socket, from where, with which credential (attacker-controlled, only hashed). */
  clientOf(extra: WsExtra): { principal: Principal; ip: string | undefined; credential: string | undefined };
  /** Whether the socket's credential still holds (`true` at once where there is nothing to check). */
  admits(extra: WsExtra): true | Promise<boolean>;
}

/** Apollo's codes for what fails before execution. */
const coded = (e: GraphQLError, code: string) =>
  new GraphQLError(e.message, {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    path: e.path,
    originalError: e,
    extensions: { ...e.extensions, code: (e.extensions.code as string | undefined) ?? code },
  });

/**
 * graphql-ws hooks that give operations over the WebSocket what Apollo gives those over HTTP:
 * the rate limits (the same buckets), the token limit at parse, graphql-js's validation plus the
 * server's own rules, errors coded
 * as Apollo codes them (a syntax error is an error message, where graphql-ws's own parse would
 * throw and close the socket), and the automatic audit of queries and mutations.
 */
export function wsOperationHooks(options: WsOperationOptions) {
  const rules = [...specifiedRules, ...options.rules];
  /** Queries and mutations admitted, and when each was received: audited with their result (see onOperation). */
  const started = new WeakMap<ExecutionArgs, number>();
  /** Subscriptions admitted and not yet started: audited once they start or are refused (see subscriptionStarted). */
  const starting = new WeakMap<ExecutionArgs, { extra: WsExtra; payload: SubscribePayload; operation: OperationDefinitionNode; since: number }>();
  const answers = new WeakMap<ExecutionResult, FormattedExecutionResult>();

  /** The result as the client receives it: its errors coded and formatted, once, for the audit and the answer. */
  const answerTo = (result: ExecutionResult): ExecutionResult | FormattedExecutionResult => {
    if (!result.errors) return result;
    let answer = answers.get(result);
    if (answer === undefined) {
      // No data and no path: execution never began, the variables did not fit (Apollo's BAD_USER_INPUT).
      const errors = result.data === undefined ? result.errors.map((e) => (e.path ? e : coded(e, 'BAD_USER_INPUT'))) : result.errors;
      answers.set(result, (answer = { ...result, errors: options.formatErrors(errors) }));
    }
    return answer;
  };

  /** Named as over HTTP: by the operation the document resolved to, else as the client named it. */
  const audit = async (extra: WsExtra, payload: SubscribePayload, operation: OperationDefinitionNode | null, result: unknown, since: number) => {
    const { principal } = options.clientOf(extra);
    if (!options.auditor?.audits(principal)) return;
    await options.auditor.record(principal, {
      operationName: operation?.name?.value ?? payload.operationName ?? null,
      operationType: operation?.operation ?? null,
      query: payload.query,
      variables: payload.variables,
      result,
      durationMs: performance.now() - since,
    });
  };

  /** Refused before execution: the client gets an `error` message with these, audited as `{errors}`. */
  const refuse = async (extra: WsExtra, payload: SubscribePayload, errors: GraphQLError[], since: number, operation: OperationDefinitionNode | null = null) => {
    await audit(extra, payload, operation, { errors: options.formatErrors(errors) }, since);
    return errors;
  };

  /** Rate limit, parse, validation and input checks: the execution arguments, or why there are none. */
  const prepare = (ctx: { extra: WsExtra }, payload: SubscribePayload): ExecutionArgs | readonly GraphQLError[] | Promise<ExecutionArgs | readonly GraphQLError[]> => {
    const since = performance.now();
    const { ip, credential } = options.clientOf(ctx.extra);
    const wait = options.rateLimit(ip, credential);
    // Not audited, as over HTTP: a refusal that cost an append would give a flood the very work the limit is to spare.
    if (wait > 0) return [new GraphQLError(`rate limit exceeded; retry in ${wait} s`, { extensions: { code: 'RATE_LIMITED' } })];
    let document: DocumentNode;
    try {
      document = parse(payload.query, { maxTokens: options.maxTokens });
    } catch (e) {
      // A document nested thousands deep overflows graphql-js's recursive parser: a RangeError, coded all the same.
      const error = e instanceof GraphQLError ? e : new GraphQLError(`Syntax Error: ${(e as Error).message}`);
      return refuse(ctx.extra, payload, [coded(error, 'GRAPHQL_PARSE_FAILED')], since);
    }
    let invalid: readonly GraphQLError[];
    try {
      invalid = validate(options.schema, document, rules);
    } catch (e) {
      invalid = [new GraphQLError(`the document cannot be validated: ${(e as Error).message}`)];
    }
    if (invalid.length > 0) return refuse(ctx.extra, payload, invalid.map((e) => coded(e, 'GRAPHQL_VALIDATION_FAILED')), since);
    const operation = getOperationAST(document, payload.operationName);
    if (!operation) return refuse(ctx.extra, payload, [unresolvedOperation(payload.operationName)], since);
    const problem = inputProblem(document, payload.variables);
    if (problem) return refuse(ctx.extra, payload, [problem], since, operation);
    const args: ExecutionArgs = { schema: options.schema, document, operationName: payload.operationName, variableValues: payload.variables };
    if (operation.operation === 'subscription') starting.set(args, { extra: ctx.extra, payload, operation, since });
    else started.set(args, since);
    return args;
  };

  return {
    onSubscribe(
      ctx: { extra: WsExtra; subscriptions: Record<string, unknown> },
      _id: string,
      payload: SubscribePayload,
    ): ExecutionArgs | readonly GraphQLError[] | Promise<ExecutionArgs | readonly GraphQLError[]> {
      // graphql-ws has already entered this operation among the connection's. Counted before any
      // wait: while one waits, the connection's later messages are entered too.
      if (Object.keys(ctx.subscriptions).length > options.maxOperations) {
        return [new GraphQLError(`this connection already runs ${options.maxOperations} operations; complete one first`, { extensions: { code: 'OPERATION_LIMIT' } })];
      }
      const admitted = options.admits(ctx.extra);
      if (admitted === true) return prepare(ctx, payload);
      return admitted.then((ok) => (ok ? prepare(ctx, payload) : [new GraphQLError('unknown or revoked API key', { extensions: { code: 'UNAUTHENTICATED' } })]));
    },

    /**
     * Audits a subscription as it starts, before any of its events leave (the fan-out writes them,
     * with `after` the ledger's whole history, straight to the socket): its answer so far none
     * (`null`), or, refused as it started (a role it lacks, a bad cursor), the errors its client gets.
     */
    subscriptionStarted(args: ExecutionArgs, refusal: ExecutionResult | null): Promise<void> {
      const sub = starting.get(args);
      if (!sub) return Promise.resolve();
      starting.delete(args);
      return audit(sub.extra, sub.payload, sub.operation, refusal && answerTo(refusal), sub.since);
    },

    /**
     * Audits a query's or mutation's result. Here, not in onNext: graphql-ws sends (and calls
     * onNext) only while the operation is open, and a mutation the client completes, or whose
     * socket closes, before its answer has run all the same. Awaited before the answer is sent.
     * A subscription was audited as it started (see subscriptionStarted).
     */
    async onOperation(ctx: { extra: WsExtra }, _id: string, payload: SubscribePayload, args: ExecutionArgs, operationResult: OperationResult): Promise<undefined> {
      const since = started.get(args);
      if (since === undefined) return undefined;
      const result = await operationResult;
      if (Symbol.asyncIterator in result) return undefined;
      await audit(ctx.extra, payload, getOperationAST(args.document, args.operationName) ?? null, answerTo(result), since);
      return undefined;
    },

    /** A query's or mutation's result, or a subscription refused as it starts (its events leave through the fan-out). */
    onNext(_ctx: { extra: WsExtra }, _id: string, _payload: SubscribePayload, _args: ExecutionArgs, result: ExecutionResult): FormattedExecutionResult | undefined {
      const answer = answerTo(result);
      return answer === result ? undefined : (answer as FormattedExecutionResult);
    },
  };
}
