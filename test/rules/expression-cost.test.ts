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
