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
  ];

  it.each(long)('%s is charged by length: 256 times over 8,000 characters is refused with the budget error', (_, source) => {
    const c = compile(source, ['bool'], 'condition');
    expect(c.evaluate(bindings({ l, s: 'a'.repeat(8_000) }), new Map())).toEqual({ error: `evaluation cost exceeded the budget of ${EXPRESSION_LIMITS.maxCost}` });
    expect(c.evaluate(bindings({ l, s: 'a'.repeat(80) }), new Map())).toEqual({ value: true });
  });
});
