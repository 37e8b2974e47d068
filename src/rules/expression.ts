import { ChainproofError } from '../errors.js';
import { CelScalar, celEnv, celFunc, celList, celListConcat, celMap, celMethod, isCelError, isCelList, isCelMap, isCelUint, listType, mapType, parse, plan, RE2JS, type CelInput, type CelList, type CelValue, type Expr } from './cel.js';
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
  /** Cost units one evaluation of one expression may spend (see `charge`); some tens of milliseconds at worst on this machine. */
  maxCost: 500_000,
} as const;

/**
 * Evaluation cost, counted deterministically. @bufbuild/cel has no cost limit and evaluates
 * synchronously, so a wall-clock limit could only be a process kill, and replay must reach
 * the same verdict on any machine. Instead, the operations whose work grows with their
 * operands (concatenation, substring search, regular expressions) are replaced by versions
 * that charge for it, and every macro iteration is charged for the step it runs. Past the
 * budget every charge throws, so the rest of the evaluation stops at once, and the result is
 * an error whatever `||` or `&&` made of the failures.
 */
/** Not a name CEL source can spell, so no contract can call it. */
const COST_FN = '@cost';
const meter = { spent: 0, budget: 0 };
/** The units the last evaluation on this thread spent (past the budget by at most its last charge): how tests see the meter stop. */
export const lastEvaluationCost = (): number => meter.spent;
function charge(units: number): void {
  meter.spent += units;
  if (meter.spent > meter.budget) throw new Error(`evaluation cost exceeded the budget of ${meter.budget}`);
}

const RE_CACHE = new Map<string, InstanceType<typeof RE2JS>>();
const re2 = {
  compile(pattern: string) {
    charge(pattern.length);
    let re = RE_CACHE.get(pattern);
    if (!re) {
      if (RE_CACHE.size >= 1_000) RE_CACHE.clear();
      re = RE2JS.compile(pattern);
      RE_CACHE.set(pattern, re);
    }
    const compiled = re;
    // RE2 runs in time linear in the input times the size of the compiled automaton, which
    // counted repetitions make far larger than the pattern's text: `[a-z]{1,100}` is 300 instructions.
    const size = (compiled as unknown as { re2Input: { prog: { inst: unknown[] } } }).re2Input.prog.inst.length;
    charge(size);
    return { test: (s: string) => (charge(s.length * size), compiled.test(s)) };
  },
};

const LIST = listType(CelScalar.DYN);
const DYN = CelScalar.DYN;
/** Cost units of evaluating one expression node: about what a regular expression spends on one instruction for 30 characters. */
const NODE_COST = 30;

/**
 * Charges what comparing or searching a value costs: its characters or elements, all the way
 * down, a shared value once for each place it appears. Charged as it is walked, at least a unit
 * a node, so that a value far heavier than the budget (a list holding one big value many times)
 * is refused after at most the budget's worth of nodes rather than weighed whole first.
 */
function chargeWeight(v: CelValue): void {
  if (typeof v === 'string' || v instanceof Uint8Array) return charge(v.length || 1);
  charge(1);
  if (isCelList(v)) for (const x of v) chargeWeight(x);
  else if (isCelMap(v)) {
    for (const [k, x] of v) {
      chargeWeight(k as CelValue);
      chargeWeight(x);
    }
  }
}

/** The standard functions, which metered ones call after charging for the work. */
const STD_FUNCS = celEnv().funcs;
/** The standard `_==_` (numbers compare across int, uint and double), called by the metered one. */
const STD_EQUALS = STD_FUNCS.find('_==_')!;
const equals = (l: CelValue, r: CelValue): boolean => STD_EQUALS.call(0, undefined, [l, r]) === true;
function meteredEquals(l: CelValue, r: CelValue): boolean {
  // The common cases, compared here: the standard function's dispatch costs more than the comparison.
  const t = typeof l;
  if (t === typeof r && (t === 'bigint' || t === 'boolean' || t === 'number')) return l === r;
  if (t === 'string' && typeof r === 'string') {
    charge((l as string).length + r.length);
    return l === r;
  }
  chargeWeight(l);
  chargeWeight(r);
  return equals(l, r);
}
const B = CelScalar.BOOL;
const BYTES = CelScalar.BYTES;
/** Standard functions replaced by metered ones (same names and overloads, so they take the standard ones' place). */
const METERED = [
  celFunc('_+_', [CelScalar.STRING, CelScalar.STRING], CelScalar.STRING, (l, r) => (charge(l.length + r.length), l + r)),
  celFunc('_+_', [BYTES, BYTES], BYTES, (l, r) => {
    charge(l.length + r.length);
    const out = new Uint8Array(l.length + r.length);
    out.set(l);
    out.set(r, l.length);
    return out;
  }),
  celFunc('_+_', [LIST, LIST], LIST, (l, r) => (charge((l as CelList).size + (r as CelList).size), celListConcat(l as CelList, r as CelList))),
  celFunc('_==_', [DYN, DYN], B, (l, r) => meteredEquals(l, r)),
  celFunc('_!=_', [DYN, DYN], B, (l, r) => !meteredEquals(l, r)),
  celFunc('@in', [DYN, LIST], B, (x, l) => (chargeWeight(l), [...(l as CelList)].some((y) => equals(x, y)))),
  celFunc('size', [CelScalar.STRING], CelScalar.INT, (s) => (charge(s.length), BigInt([...s].length))),
  celMethod('size', CelScalar.STRING, [], CelScalar.INT, function () { charge(this.length); return BigInt([...this].length); }),
  celMethod('contains', CelScalar.STRING, [CelScalar.STRING], B, function (s) { charge(this.length + s.length); return this.includes(s); }),
  celMethod('startsWith', CelScalar.STRING, [CelScalar.STRING], B, function (s) { charge(s.length); return this.startsWith(s); }),
  celMethod('endsWith', CelScalar.STRING, [CelScalar.STRING], B, function (s) { charge(s.length); return this.endsWith(s); }),
  // Put in each macro's loop condition by `meterMacros`: charges an iteration for the step it runs.
  celFunc(COST_FN, [B, CelScalar.INT], B, (condition, units) => (charge(Number(units) * NODE_COST), condition)),
  ...['int(string)', 'uint(string)', 'double(string)', 'bool(string)', 'bytes(string)', 'timestamp(string)', 'duration(string)', 'string(bytes)'].map(meteredConversion),
];

/**
 * A standard conversion from a string or bytes, charged for its operand's length and then done
 * by the standard function: decoding, encoding or parsing up to a payload's 8,192 characters is
 * work that grows with them, which one node's charge would not pay for inside a macro.
 */
function meteredConversion(id: string) {
  const name = id.slice(0, id.indexOf('('));
  const std = [...STD_FUNCS.find(name)!].find((f) => f.id === id)!;
  return celFunc(name, [...std.arguments], std.result, (operand: string | Uint8Array) => {
    charge(operand.length);
    const converted = std.call(0, undefined, [operand])!; // its own overload: it takes the operand
    // The standard function's own error (a string that is no number, bytes that are no UTF-8), as the evaluation's.
    if (isCelError(converted)) throw converted;
    return converted;
  });
}

/** Values of the aggregates an expression uses, computed for the trigger event before it is evaluated. */
export type AggregateValues = ReadonlyMap<string, number>;

const NO_VALUES: AggregateValues = new Map();
let current: AggregateValues = NO_VALUES;
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
  re2,
  variables: { event: mapType(S, CelScalar.DYN), contract: mapType(S, CelScalar.DYN) },
  funcs: [
    celFunc('count', [S, I], I, (type, w) => BigInt(read(key('count', [type, Number(w)])))),
    celFunc('ratio', [S, S, I], D, (type, result, w) => read(key('ratio', [type, result, Number(w)]))),
    celFunc('sum', [S, S, I], D, (type, field, w) => read(key('sum', [type, field, Number(w)]))),
    ...METERED,
  ],
});

export interface Bindings {
  event: CelInput;
  contract: CelInput;
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
  meterMacros(parsed.expr);
  const run = plan(ENV, parsed);
  return {
    source,
    type: checked.type,
    aggregates: checked.aggregates,
    evaluate(bindings, aggregates) {
      current = aggregates;
      meter.spent = 0;
      meter.budget = EXPRESSION_LIMITS.maxCost;
      try {
        const value = run(bindings as never);
        if (meter.spent > meter.budget) return { error: `evaluation cost exceeded the budget of ${meter.budget}` };
        return isCelError(value) ? { error: value.message } : { value };
      } catch (e) {
        return { error: e instanceof RangeError ? 'evaluation exceeded the stack' : (e as Error).message };
      } finally {
        current = NO_VALUES;
      }
    },
  };
}

/** Nodes in an expression tree: what one macro iteration evaluates at most, apart from metered calls. */
function nodes(e: Expr | undefined): number {
  if (!e) return 0;
  const k = e.exprKind;
  switch (k.case) {
    case 'callExpr': return 1 + nodes(k.value.target) + k.value.args.reduce((n, a) => n + nodes(a), 0);
    case 'listExpr': return 1 + k.value.elements.reduce((n, a) => n + nodes(a), 0);
    case 'structExpr': return 1 + k.value.entries.reduce((n, x) => n + (x.keyKind.case === 'mapKey' ? nodes(x.keyKind.value) : 0) + nodes(x.value), 0);
    case 'selectExpr': return 1 + nodes(k.value.operand);
    case 'comprehensionExpr': return 1 + nodes(k.value.iterRange) + nodes(k.value.accuInit) + nodes(k.value.loopCondition) + nodes(k.value.loopStep) + nodes(k.value.result);
    default: return 1;
  }
}

/** Wraps every macro's loop condition (always a bool) in COST_FN, charging each iteration for its condition and step. */
function meterMacros(e: Expr | undefined): void {
  if (!e) return;
  const k = e.exprKind;
  switch (k.case) {
    case 'callExpr':
      meterMacros(k.value.target);
      k.value.args.forEach(meterMacros);
      return;
    case 'listExpr':
      k.value.elements.forEach(meterMacros);
      return;
    case 'structExpr':
      for (const x of k.value.entries) {
        if (x.keyKind.case === 'mapKey') meterMacros(x.keyKind.value);
        meterMacros(x.value);
      }
      return;
    case 'selectExpr':
      meterMacros(k.value.operand);
      return;
    case 'comprehensionExpr': {
      const c = k.value;
      for (const part of [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result]) meterMacros(part);
      const units = 1 + nodes(c.loopCondition) + nodes(c.loopStep);
      const constant = { id: e.id, exprKind: { case: 'constExpr', value: { constantKind: { case: 'int64Value', value: BigInt(units) } } } };
      c.loopCondition = { id: e.id, exprKind: { case: 'callExpr', value: { function: COST_FN, args: [c.loopCondition!, constant] } } } as unknown as Expr;
      return;
    }
    default:
  }
}

/**
 * A JSON payload as CEL input: whole numbers become int, within the bounds above. Throws
 * (with a message for the execution record) when the payload is outside them. Objects and
 * arrays become CEL maps and lists here, once: the evaluator would otherwise convert a plain
 * object again on every access.
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
    return celList(v.map((x) => payloadInput(x, depth + 1)));
  }
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > EXPRESSION_LIMITS.maxPayloadList) throw new Error(`a payload object has more than ${EXPRESSION_LIMITS.maxPayloadList} keys, the rule evaluation bound`);
  return celMap(new Map(entries.map(([k, x]) => [k, payloadInput(x, depth + 1)])));
}

/** Throws what `payloadInput` would, without building anything: a trigger out of bounds fails every firing alike. */
export function checkPayload(v: unknown, depth = 0): void {
  if (depth > EXPRESSION_LIMITS.maxPayloadDepth) throw new Error(`payload is nested deeper than ${EXPRESSION_LIMITS.maxPayloadDepth} for rule evaluation`);
  if (typeof v === 'string') {
    if (v.length > EXPRESSION_LIMITS.maxPayloadString) throw new Error(`a payload string is longer than ${EXPRESSION_LIMITS.maxPayloadString} characters, the rule evaluation bound`);
  } else if (Array.isArray(v)) {
    if (v.length > EXPRESSION_LIMITS.maxPayloadList) throw new Error(`a payload list has more than ${EXPRESSION_LIMITS.maxPayloadList} elements, the rule evaluation bound`);
    for (const x of v) checkPayload(x, depth + 1);
  } else if (typeof v === 'object' && v !== null) {
    const values = Object.values(v);
    if (values.length > EXPRESSION_LIMITS.maxPayloadList) throw new Error(`a payload object has more than ${EXPRESSION_LIMITS.maxPayloadList} keys, the rule evaluation bound`);
    for (const x of values) checkPayload(x, depth + 1);
  }
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
