import { ChainproofError } from '../errors.js';
import { CelScalar, celEnv, celFunc, isCelError, isCelList, isCelMap, isCelUint, mapType, parse, plan, type CelInput, type CelValue } from './cel.js';
import { checkExpression, type AggregateCall, type T } from './checker.js';

/** Bounds on what a contract may ask of the evaluator; every expression is checked against them at creation. */
export const EXPRESSION_LIMITS = {
  maxLength: 2_000,
  maxDepth: 32,
  maxComprehensionNesting: 1,
  maxWindowSeconds: 30 * 86_400,
  /** Payload values bound into `event.payload`: deeper, longer or bigger payloads fail the evaluation. */
  maxPayloadDepth: 8,
  maxPayloadList: 256,
  maxPayloadString: 8_192,
} as const;

/** Values of the aggregates an expression uses, computed for the trigger event before it is evaluated. */
export type AggregateValues = ReadonlyMap<string, number>;

let current: AggregateValues = new Map();
const read = (key: string): number => {
  const v = current.get(key);
  if (v === undefined) throw new Error(`aggregate ${key} was not computed`);
  return v;
};
const S = CelScalar.STRING;
const I = CelScalar.INT;
const D = CelScalar.DOUBLE;
const key = (fn: string, args: Array<string | number>) => `${fn}(${JSON.stringify(args)})`;

// The aggregate functions read values prepared for this evaluation: evaluation stays synchronous and pure.
const ENV = celEnv({
  variables: { event: mapType(S, CelScalar.DYN), contract: mapType(S, CelScalar.DYN) },
  funcs: [
    celFunc('count', [S, I], I, (type, w) => BigInt(read(key('count', [type, Number(w)])))),
    celFunc('ratio', [S, S, I], D, (type, result, w) => read(key('ratio', [type, result, Number(w)]))),
    celFunc('sum', [S, S, I], D, (type, field, w) => read(key('sum', [type, field, Number(w)]))),
  ],
});

export interface Bindings {
  event: Record<string, CelInput>;
  contract: Record<string, CelInput>;
}

export interface Compiled {
  source: string;
  type: T;
  aggregates: AggregateCall[];
  /** The value, or a message saying why evaluation failed (a run-time type error, a missing field). */
  evaluate(bindings: Bindings, aggregates: AggregateValues): { value: CelValue } | { error: string };
}

/**
 * Parses, checks and plans `source` once. `accept` lists the result types this use of an
 * expression allows (`dyn` always passes the check and is checked when evaluated).
 */
export function compile(source: string, accept: T[], what: string): Compiled {
  if (typeof source !== 'string' || source.trim() === '') throw new ChainproofError('BAD_USER_INPUT', `${what} must be a CEL expression`);
  if (source.length > EXPRESSION_LIMITS.maxLength) {
    throw new ChainproofError('BAD_USER_INPUT', `${what} is ${source.length} characters; the limit is ${EXPRESSION_LIMITS.maxLength}`);
  }
  let parsed;
  try {
    parsed = parse(source);
  } catch (e) {
    const message = e instanceof RangeError ? 'nested too deeply' : (e as Error).message.replace(/^<input>/, what);
    throw new ChainproofError('BAD_USER_INPUT', `${what}: ${message}`);
  }
  const checked = checkExpression(parsed, source, EXPRESSION_LIMITS, what);
  if (checked.type !== 'dyn' && !accept.includes(checked.type)) {
    throw new ChainproofError('BAD_USER_INPUT', `${what} has type ${checked.type}; expected ${accept.join(' or ')}`);
  }
  const run = plan(ENV, parsed);
  return {
    source,
    type: checked.type,
    aggregates: checked.aggregates,
    evaluate(bindings, aggregates) {
      current = aggregates;
      try {
        const value = run(bindings as never);
        return isCelError(value) ? { error: value.message } : { value };
      } catch (e) {
        return { error: e instanceof RangeError ? 'evaluation exceeded the stack' : (e as Error).message };
      } finally {
        current = new Map();
      }
    },
  };
}

/**
 * A JSON payload as CEL input: whole numbers become int, within the bounds above. Throws
 * (with a message for the execution record) when the payload is outside them.
 */
export function payloadInput(v: unknown, depth = 0): CelInput {
  if (depth > EXPRESSION_LIMITS.maxPayloadDepth) throw new Error(`payload is nested deeper than ${EXPRESSION_LIMITS.maxPayloadDepth} for rule evaluation`);
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (typeof v === 'string') {
    if (v.length > EXPRESSION_LIMITS.maxPayloadString) throw new Error(`a payload string is longer than ${EXPRESSION_LIMITS.maxPayloadString} characters, the rule evaluation bound`);
    return v;
  }
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v)) {
    if (v.length > EXPRESSION_LIMITS.maxPayloadList) throw new Error(`a payload list has more than ${EXPRESSION_LIMITS.maxPayloadList} elements, the rule evaluation bound`);
    return v.map((x) => payloadInput(x, depth + 1)) as CelInput;
  }
  const out: Record<string, CelInput> = {};
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > EXPRESSION_LIMITS.maxPayloadList) throw new Error(`a payload object has more than ${EXPRESSION_LIMITS.maxPayloadList} keys, the rule evaluation bound`);
  for (const [k, x] of entries) out[k] = payloadInput(x, depth + 1);
  return out as CelInput;
}

/** A CEL result as JSON (for an appended event's payload or an execution record). */
export function toJson(v: CelValue | unknown, depth = 0): unknown {
  if (depth > EXPRESSION_LIMITS.maxPayloadDepth) throw new Error('result is nested too deeply');
  if (typeof v === 'bigint') {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) return v.toString();
    return Number(v);
  }
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('result is not a finite number');
    return v;
  }
  if (isCelUint(v)) return toJson(v.value, depth);
  if (isCelList(v)) return [...v.values()].map((x) => toJson(x, depth + 1));
  if (isCelMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v) out[String(k)] = toJson(x, depth + 1);
    return out;
  }
  throw new Error(`result of type ${typeof v} cannot be written to the ledger`);
}
