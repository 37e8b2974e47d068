import { ChainproofError } from '../errors.js';
import { RE2JS, type Expr, type ParsedExpr } from './cel.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * A static checker for the subset of CEL that contracts use: declared variables, known
 * functions with their overloads, operand types where they are known, aggregate arguments
 * that must be literals (so their cost is known before evaluation), and bounds on nesting.
 * Unknown shapes (payload fields, comprehension variables) are `dyn` and checked at run time.
 */
export type T = 'bool' | 'int' | 'uint' | 'double' | 'string' | 'bytes' | 'null' | 'list' | 'map' | 'dyn' | 'timestamp' | 'duration' | 'type';

/** The fields of `event` and their types. */
const EVENT_FIELDS: Record<string, T> = {
  id: 'string', index: 'int', type: 'string', actor: 'string', author: 'string', resource: 'string',
  subsystem: 'string', result: 'string', payload: 'map', hlc: 'map',
};

export interface AggregateCall {
  fn: 'count' | 'ratio' | 'sum';
  /** Literal arguments, in order. */
  args: Array<string | number>;
  key: string;
}

/** Aggregate functions: literal argument types, result type. The last argument is a window in seconds. */
const AGGREGATES: Record<AggregateCall['fn'], { args: T[]; result: T }> = {
  count: { args: ['string', 'int'], result: 'int' },
  ratio: { args: ['string', 'string', 'int'], result: 'double' },
  sum: { args: ['string', 'string', 'int'], result: 'double' },
};

export interface CheckLimits {
  maxDepth: number;
  maxComprehensionNesting: number;
  maxWindowSeconds: number;
}

export interface Checked {
  type: T;
  aggregates: AggregateCall[];
}

const NUMERIC = new Set<T>(['int', 'uint', 'double']);
const ORDERED = new Set<T>(['int', 'uint', 'double', 'string', 'bytes', 'timestamp', 'duration']);
const ARITH: Record<string, Set<T>> = {
  '_+_': new Set(['int', 'uint', 'double', 'string', 'bytes', 'list', 'timestamp', 'duration']),
  '_-_': new Set(['int', 'uint', 'double', 'timestamp', 'duration']),
  '_*_': NUMERIC,
  '_/_': NUMERIC,
  '_%_': new Set(['int', 'uint']),
};
const CONVERSIONS: Record<string, T> = { int: 'int', uint: 'uint', double: 'double', string: 'string', bool: 'bool', bytes: 'bytes', dyn: 'dyn', type: 'type', timestamp: 'timestamp', duration: 'duration' };
/** Methods on strings: name → [argument count, result]. */
const STRING_METHODS: Record<string, [number, T]> = { contains: [1, 'bool'], startsWith: [1, 'bool'], endsWith: [1, 'bool'], matches: [1, 'bool'] };

class CheckError extends Error {}

export function checkExpression(parsed: ParsedExpr, source: string, limits: CheckLimits, what = 'expression'): Checked {
  const positions = parsed.sourceInfo?.positions ?? {};
  const aggregates = new Map<string, AggregateCall>();
  const where = (e: Expr) => {
    const offset = positions[e.id.toString()] ?? 0;
    const before = source.slice(0, offset);
    const line = before.split('\n').length;
    return `${what}:${line}:${offset - before.lastIndexOf('\n')}`;
  };
  const fail = (e: Expr, message: string): never => {
    throw new CheckError(`${where(e)}: ${message}`);
  };

  const visit = (e: Expr, scope: Map<string, T>, depth: number, nesting: number): T => {
    if (depth > limits.maxDepth) fail(e, `nested more than ${limits.maxDepth} levels deep`);
    const k = e.exprKind;
    switch (k.case) {
      case 'constExpr': {
        const kind = k.value.constantKind;
        // The parser keeps any digits; the evaluator would fail on them at the first firing instead.
        if (kind.case === 'int64Value' && (kind.value < INT64_MIN || kind.value > INT64_MAX)) fail(e, `integer literal ${kind.value} is out of int range`);
        if (kind.case === 'uint64Value' && (kind.value < 0n || kind.value > UINT64_MAX)) fail(e, `integer literal ${kind.value}u is out of uint range`);
        const c = kind.case;
        return c === 'boolValue' ? 'bool' : c === 'int64Value' ? 'int' : c === 'uint64Value' ? 'uint' : c === 'doubleValue' ? 'double'
          : c === 'stringValue' ? 'string' : c === 'bytesValue' ? 'bytes' : c === 'nullValue' ? 'null' : 'dyn';
      }
      case 'identExpr': {
        const t = scope.get(k.value.name);
        return t ?? fail(e, `undeclared reference to '${k.value.name}' (declared: event, contract)`);
      }
      case 'selectExpr': {
        const operand = k.value.operand!;
        const t = visit(operand, scope, depth + 1, nesting);
        if (t !== 'map' && t !== 'dyn') fail(e, `type '${t}' has no field '${k.value.field}'`);
        if (k.value.testOnly) return 'bool';
        if (operand.exprKind.case === 'identExpr' && operand.exprKind.value.name === 'event' && scope.get('event') === 'map') {
          return (Object.hasOwn(EVENT_FIELDS, k.value.field) ? EVENT_FIELDS[k.value.field] : undefined) ?? fail(e, `undefined field '${k.value.field}' of event (fields: ${Object.keys(EVENT_FIELDS).join(', ')})`);
        }
        return 'dyn';
      }
      case 'listExpr':
        for (const el of k.value.elements) visit(el, scope, depth + 1, nesting);
        return 'list';
      case 'structExpr':
        if (k.value.messageName) fail(e, `messages are not available (${k.value.messageName})`);
        for (const entry of k.value.entries) {
          if (entry.keyKind.case === 'mapKey') visit(entry.keyKind.value, scope, depth + 1, nesting);
          if (entry.value) visit(entry.value, scope, depth + 1, nesting);
        }
        return 'map';
      case 'comprehensionExpr': {
        const c = k.value;
        if (nesting + 1 > limits.maxComprehensionNesting) fail(e, `macros (all, exists, map, filter) nest at most ${limits.maxComprehensionNesting} deep`);
        const range = visit(c.iterRange!, scope, depth + 1, nesting);
        if (range !== 'list' && range !== 'map' && range !== 'dyn') fail(e, `cannot iterate over '${range}'`);
        const accu = visit(c.accuInit!, scope, depth + 1, nesting + 1);
        const inner = new Map(scope).set(c.iterVar, 'dyn').set(c.accuVar, accu);
        if (c.iterVar2) inner.set(c.iterVar2, 'dyn');
        visit(c.loopCondition!, inner, depth + 1, nesting + 1);
        visit(c.loopStep!, inner, depth + 1, nesting + 1);
        return visit(c.result!, inner, depth + 1, nesting + 1);
      }
      case 'callExpr': {
        const call = k.value;
        const fn = call.function;
        const target = call.target ? visit(call.target, scope, depth + 1, nesting) : undefined;
        if (Object.hasOwn(AGGREGATES, fn) && !call.target) return aggregate(e, fn as AggregateCall['fn'], call.args);
        const args = call.args.map((a) => visit(a, scope, depth + 1, nesting));
        const pattern = fn === 'matches' && call.args.length === 1 && call.args[0]!.exprKind.case === 'constExpr' ? call.args[0]!.exprKind.value.constantKind : undefined;
        // Compiling a pattern costs what its repetitions expand to, before any budget can see it
        // (a 104-character pattern took 221 ms and 33 MB): only the contract's own text chooses one.
        if (fn === 'matches' && pattern?.case !== 'stringValue') {
          fail(call.args[0] ?? e, 'matches takes its pattern as a string literal: a pattern from an event could cost anything to compile');
        }
        if (pattern?.case === 'stringValue') {
          // A literal pattern is compiled now, as the evaluator would at the first firing.
          try {
            RE2JS.compile(pattern.value);
          } catch (err) {
            fail(call.args[0]!, `invalid regular expression: ${(err as Error).message}`);
          }
        }
        return callType(e, fn, target, args);
      }
      default:
        return fail(e, 'unsupported expression');
    }
  };

  const aggregate = (e: Expr, fn: AggregateCall['fn'], argExprs: Expr[]): T => {
    const sig = AGGREGATES[fn];
    if (argExprs.length !== sig.args.length) fail(e, `${fn} takes ${sig.args.length} arguments (${sig.args.join(', ')})`);
    const values = argExprs.map((a, i) => {
      const c = a.exprKind.case === 'constExpr' ? a.exprKind.value.constantKind : undefined;
      if (sig.args[i] === 'string' && c?.case === 'stringValue') return c.value;
      if (sig.args[i] === 'int' && c?.case === 'int64Value') return Number(c.value);
      return fail(a, `argument ${i + 1} of ${fn} must be a literal ${sig.args[i]}`);
    });
    const window = values[values.length - 1] as number;
    if (window < 1 || window > limits.maxWindowSeconds) fail(e, `${fn}: the window must be 1..${limits.maxWindowSeconds} seconds`);
    const key = `${fn}(${JSON.stringify(values)})`;
    aggregates.set(key, { fn, args: values, key });
    return sig.result;
  };

  const noOverload = (e: Expr, fn: string, types: T[]): never => fail(e, `no matching overload for '${fn}' applied to (${types.join(', ')})`);
  const known = (t: T | undefined) => t !== undefined && t !== 'dyn';

  const callType = (e: Expr, fn: string, target: T | undefined, args: T[]): T => {
    const all = target ? [target, ...args] : args;
    const [a, b] = args;
    switch (fn) {
      case '_&&_':
      case '_||_':
      case '!_':
      case '@not_strictly_false':
        for (const t of args) if (known(t) && t !== 'bool') noOverload(e, fn, args);
        return 'bool';
      case '_==_':
      case '_!=_':
        if (known(a) && known(b) && a !== b && !(NUMERIC.has(a!) && NUMERIC.has(b!)) && a !== 'null' && b !== 'null') noOverload(e, fn, args);
        return 'bool';
      case '_<_':
      case '_<=_':
      case '_>_':
      case '_>=_':
        for (const t of args) if (known(t) && !ORDERED.has(t)) noOverload(e, fn, args);
        if (known(a) && known(b) && a !== b && !(NUMERIC.has(a!) && NUMERIC.has(b!))) noOverload(e, fn, args);
        return 'bool';
      case '_+_':
      case '_-_':
      case '_*_':
      case '_/_':
      case '_%_':
        for (const t of args) if (known(t) && !ARITH[fn]!.has(t)) noOverload(e, fn, args);
        if (known(a) && known(b) && a !== b) noOverload(e, fn, args);
        return known(a) ? a! : known(b) ? b! : 'dyn';
      case '-_':
        if (known(a) && a !== 'int' && a !== 'double' && a !== 'duration') noOverload(e, fn, args);
        return a!;
      case '_?_:_':
        if (known(a) && a !== 'bool') noOverload(e, fn, args);
        return args[1] === args[2] ? args[1]! : 'dyn';
      case '_[_]':
        if (known(a) && a !== 'list' && a !== 'map') noOverload(e, fn, args);
        if (a === 'list' && known(b) && b !== 'int' && b !== 'uint') noOverload(e, fn, args);
        return 'dyn';
      case '@in':
        if (known(b) && b !== 'list' && b !== 'map') noOverload(e, fn, args);
        return 'bool';
      case 'size':
        if (all.length !== 1) noOverload(e, fn, all);
        if (known(all[0]) && !['string', 'bytes', 'list', 'map'].includes(all[0]!)) noOverload(e, fn, all);
        return 'int';
    }
    if (Object.hasOwn(STRING_METHODS, fn) && target !== undefined) {
      const [n, result] = STRING_METHODS[fn]!;
      if (args.length !== n || (known(target) && target !== 'string') || args.some((t) => known(t) && t !== 'string')) noOverload(e, fn, all);
      return result;
    }
    if (Object.hasOwn(CONVERSIONS, fn) && target === undefined) {
      if (args.length !== 1) noOverload(e, fn, args);
      return CONVERSIONS[fn]!;
    }
    return fail(e, `undeclared reference to function '${fn}'`);
  };

  try {
    const scope = new Map<string, T>([['event', 'map'], ['contract', 'map']]);
    const type = visit(parsed.expr, scope, 0, 0);
    return { type, aggregates: [...aggregates.values()] };
  } catch (e) {
    if (e instanceof CheckError) throw new ChainproofError('BAD_USER_INPUT', e.message);
    if (e instanceof RangeError) throw new ChainproofError('BAD_USER_INPUT', `${what} is nested too deeply`);
    throw e;
  }
}
