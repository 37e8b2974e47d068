import { describe, expect, it } from 'vitest';
import { celMap } from '../../src/rules/cel.js';
import { compile, EXPRESSION_LIMITS, lastEvaluationCost } from '../../src/rules/expression.js';
import { eventInput, type RuleEvent } from '../../src/rules/runtime.js';

// Comparing or searching a value is charged for its whole weight, and a list may hold the same big
// value many times: the meter must stop the walk at the budget, not weigh the value first.

const zeros = Array.from({ length: 118 }, () => Array.from({ length: 256 }, () => 0));
const trigger = (payload: unknown): RuleEvent => ({
  id: 'ab'.repeat(32), index: 1, type: 't', actor: 'a', author: null, resource: null, subsystem: null, result: null,
  payload, hlc: { physicalMs: 1, logical: 0 },
});
const bindings = (payload: unknown) => ({ event: eventInput(trigger(payload)), contract: celMap(new Map()) });
/** How far past the budget the meter may be when it stops: one node's charge (here, a small number). */
const SLACK = 1_000;

describe('evaluation cost of heavy values', () => {
  // Each of these weighs millions of units: ~30,000 elements, shared hundreds of times.
  const heavy: Array<[string, string]> = [
    ['a list literal of one shared value, compared', `[event.payload.a].all(p, [${Array(950).fill('p').join(',')}] == [])`],
    ['a mapped list of one shared value, compared', 'event.payload.l.map(x, event.payload.a) == []'],
    ['a mapped list of one shared value, searched', '[] in event.payload.l.map(x, event.payload.a)'],
  ];

  it.each(heavy)('%s: refused with the budget error, having walked no more than the budget', (_, source) => {
    expect(source.length).toBeLessThanOrEqual(EXPRESSION_LIMITS.maxLength);
    const c = compile(source, ['bool'], 'condition');
    const r = c.evaluate(bindings({ a: zeros, l: zeros[0] }), new Map());
    expect(r).toEqual({ error: `evaluation cost exceeded the budget of ${EXPRESSION_LIMITS.maxCost}` });
    // Every node walked is charged at least a unit, so this bounds the nodes visited too.
    expect(lastEvaluationCost()).toBeGreaterThan(EXPRESSION_LIMITS.maxCost);
    expect(lastEvaluationCost()).toBeLessThanOrEqual(EXPRESSION_LIMITS.maxCost + SLACK);
  });

  // The same walks over values whose weight is in what a shallower walk would skip.
  const heavyParts: Array<[string, unknown]> = [
    ['lists of empty strings, each weighing a unit', Array.from({ length: 118 }, () => Array.from({ length: 256 }, () => ''))],
    ['a map\'s values', Object.fromEntries(Array.from({ length: 118 }, (_, i) => [`k${i}`, zeros[0]]))],
    ['a map\'s long keys', Object.fromEntries(Array.from({ length: 118 }, (_, i) => [`${i}`.padEnd(1_000, 'k'), 0]))],
  ];

  it.each(heavyParts)('a value heavy in %s, shared and compared: refused with the budget error', (_, a) => {
    const c = compile(heavy[0]![1], ['bool'], 'condition');
    expect(c.evaluate(bindings({ a }), new Map())).toEqual({ error: `evaluation cost exceeded the budget of ${EXPRESSION_LIMITS.maxCost}` });
  });

  it('still compares and searches values within the budget', () => {
    const payload = { a: zeros.slice(0, 4), l: [1, 2, 3] };
    const cases: Array<[string, boolean]> = [
      ['event.payload.a == event.payload.a', true],
      ['event.payload.l.map(x, event.payload.a) == []', false],
      ['event.payload.a[0] in event.payload.a', true],
      ['[1] in event.payload.a', false],
      ['{"k": ["", "x"]} == {"k": ["", "x"]}', true],
    ];
    for (const [source, value] of cases) {
      expect(compile(source, ['bool'], 'condition').evaluate(bindings(payload), new Map()), source).toEqual({ value });
      expect(lastEvaluationCost(), source).toBeLessThan(EXPRESSION_LIMITS.maxCost);
    }
  });
});

describe('evaluation cost of string operations', () => {
  const l = Array.from({ length: 256 }, (_, i) => i);
  // 256 iterations over an 8,000-character string: some 2,000,000 units each, four times the budget.
  const long: Array<[string, string]> = [
    ['comparing two strings', 'event.payload.l.all(x, event.payload.s == event.payload.s)'],
    ['the size of a string', 'event.payload.l.all(x, size(event.payload.s) > 0)'],
    ['the size method of a string', 'event.payload.l.all(x, event.payload.s.size() > 0)'],
    ['searching a long string for a short one', 'event.payload.l.all(x, !event.payload.s.contains("b"))'],
    ['matching a long prefix', 'event.payload.l.all(x, event.payload.s.startsWith(event.payload.s))'],
    ['matching a long suffix', 'event.payload.l.all(x, event.payload.s.endsWith(event.payload.s))'],
    ['comparing a short string to a long one', 'event.payload.l.all(x, "" != event.payload.s)'],
    ['concatenating a short string and a long one', 'event.payload.l.all(x, size(["" + event.payload.s]) == 1)'],
    ['concatenating a long string and a short one', 'event.payload.l.all(x, size([event.payload.s + ""]) == 1)'],
    ['concatenating bytes', 'event.payload.l.all(x, size([b"" + bytes(event.payload.s)]) == 1)'],
  ];

  it.each(long)('%s is charged by length: 256 times over 8,000 characters is refused with the budget error', (_, source) => {
    const c = compile(source, ['bool'], 'condition');
    expect(c.evaluate(bindings({ l, s: 'a'.repeat(8_000) }), new Map())).toEqual({ error: `evaluation cost exceeded the budget of ${EXPRESSION_LIMITS.maxCost}` });
    expect(c.evaluate(bindings({ l, s: 'a'.repeat(80) }), new Map())).toEqual({ value: true });
  });
});

describe('evaluation cost of conversions', () => {
  const evaluate = (source: string, s: string) => compile(source, ['bool'], 'condition').evaluate(bindings({ s, l: Array.from({ length: 256 }, (_, i) => i) }), new Map());
  // A string that converts to none of these (its errors are dropped by `|| true`) or, for bytes and string, to itself.
  const conversions: Array<[string, number]> = [
    ['size([bytes(event.payload.s)]) == 1', 1],
    ['size([string(bytes(event.payload.s))]) == 1', 2],
    ...['int', 'uint', 'double', 'bool', 'timestamp', 'duration'].map((to): [string, number] => [`size([${to}(event.payload.s)]) == 1 || true`, 1]),
  ];

  it.each(conversions)('%s is charged for the length of what it converts, %i time(s)', (source, count) => {
    expect(evaluate(source, 'a'.repeat(80))).toEqual({ value: true });
    const short = lastEvaluationCost();
    expect(evaluate(source, 'a'.repeat(8_000))).toEqual({ value: true });
    expect(lastEvaluationCost() - short).toBeGreaterThanOrEqual(count * 7_920);
  });

  it('converting 8,000 characters 256 times is refused with the budget error; 80 characters are converted', () => {
    const source = 'event.payload.l.all(x, size([string(bytes(event.payload.s))]) == 1)';
    expect(evaluate(source, 'a'.repeat(8_000))).toEqual({ error: `evaluation cost exceeded the budget of ${EXPRESSION_LIMITS.maxCost}` });
    expect(evaluate(source, 'a'.repeat(80))).toEqual({ value: true });
  });

  it('converts as the standard functions do, with their errors', () => {
    const cases: Array<[string, unknown]> = [
      ['int("42") == 42 && uint("7") == 7u && double("1.5") == 1.5 && bool("true")', { value: true }],
      ['bytes("ab") == b"ab" && string(b"ab") == "ab"', { value: true }],
      ['timestamp("2026-01-01T00:00:00Z") < timestamp("2026-01-02T00:00:00Z") && duration("1s") < duration("2s")', { value: true }],
      ['int("x") == 1', { error: 'Cannot convert x to a BigInt' }],
      ['int("99999999999999999999") == 1', { error: 'int overflow during type conversion' }],
      ['string(b"\\xff") == ""', { error: expect.stringMatching(/^Failed to decode bytes as string/) }],
    ];
    for (const [source, result] of cases) expect(evaluate(source, ''), source).toEqual(result);
  });
});

describe('evaluation cost of regular expressions and lists', () => {
  const l = Array.from({ length: 256 }, (_, i) => i);
  const evaluate = (source: string, payload: unknown) => compile(source, ['bool'], 'condition').evaluate(bindings(payload), new Map());
  const exceeded = { error: `evaluation cost exceeded the budget of ${EXPRESSION_LIMITS.maxCost}` };

  /** A pattern's text is charged at every match: 256 matches of a 1,902-character pattern (one instruction once compiled) are refused. */
  it('charges a long pattern for its text', () => {
    const pattern = `[${'a'.repeat(1_900)}]`;
    expect(evaluate(`event.payload.l.all(x, !event.payload.s.matches("${pattern}"))`, { l, s: '' })).toEqual(exceeded);
    expect(evaluate(`event.payload.l.all(x, !event.payload.s.matches("${pattern}"))`, { l: l.slice(0, 8), s: '' })).toEqual({ value: true });
  });

  /** `[a-z]{1,1000}` is 14 characters but some 2,000 instructions: 256 matches of it, even on an empty string, are refused. */
  it('charges a pattern for the size its repetitions compile to', () => {
    expect(evaluate('event.payload.l.all(x, !event.payload.s.matches("[a-z]{1,1000}"))', { l, s: '' })).toEqual(exceeded);
    expect(evaluate('event.payload.l.all(x, !event.payload.s.matches("[a-z]{1,1000}"))', { l: l.slice(0, 8), s: '' })).toEqual({ value: true });
  });

  /** Matching runs over the input once per instruction at worst: 100 characters against 200 instructions, 256 times, is refused; one character is not. */
  it('charges a match for its input times the pattern\'s size', () => {
    expect(evaluate('event.payload.l.all(x, event.payload.s.matches("^[a-z]{1,100}$"))', { l, s: 'a'.repeat(100) })).toEqual(exceeded);
    expect(evaluate('event.payload.l.all(x, event.payload.s.matches("^[a-z]{1,100}$"))', { l, s: 'a' })).toEqual({ value: true });
  });

  /** A method's target is evaluated at every iteration: a 300-element list literal, 256 times, is refused. */
  it('charges an iteration for the nodes of a method call\'s target', () => {
    const source = (n: number) => `event.payload.l.all(x, [${Array(n).fill('x').join(', ')}].size() > 0)`;
    expect(evaluate(source(300), { l })).toEqual(exceeded);
    expect(evaluate(source(3), { l })).toEqual({ value: true });
  });

  it('charges concatenating lists for their elements', () => {
    const source = `event.payload.l.all(x, size(${Array(6).fill('event.payload.m').join(' + ')}) > 0)`;
    expect(evaluate(source, { l, m: l })).toEqual(exceeded);
    expect(evaluate(source, { l, m: [1, 2] })).toEqual({ value: true });
  });

  /** The budget error is the result even where `||` would have absorbed an error: what was spent past the budget is not undone. */
  it('refuses an expression past the budget whatever || makes of it', () => {
    const long = `(${Array(20).fill('event.payload.l').join(' + ')}).all(x, x >= 0)`;
    expect(evaluate(`${long} || true`, { l })).toEqual(exceeded);
    expect(evaluate(`true || ${long}`, { l })).toEqual({ value: true });
  });
});
