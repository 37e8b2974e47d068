import { describe, expect, it } from 'vitest';
import { celMap } from '../../src/rules/cel.js';
import { checkContract, checkRuleAction } from '../../src/rules/contract-input.js';
import { compile, EXPRESSION_LIMITS, toJson } from '../../src/rules/expression.js';
import { eventInput, type RuleEvent } from '../../src/rules/runtime.js';
import { contractInput } from './support.js';

// Each bound at its edge: the last value it accepts and the first it refuses.

const trigger = (payload: unknown): RuleEvent => ({
  id: 'ab'.repeat(32), index: 1, type: 't', actor: 'a', author: null, resource: null, subsystem: null, result: null,
  payload, hlc: { physicalMs: 1, logical: 0 },
});
const evaluate = (source: string, payload: unknown = {}) =>
  compile(source, ['bool'], 'condition').evaluate({ event: eventInput(trigger(payload)), contract: celMap(new Map()) }, new Map());
const refusal = (act: () => unknown): { code?: string; message: string } | undefined => {
  try {
    act();
    return undefined;
  } catch (e) {
    return e as { code?: string; message: string };
  }
};

describe('expression bounds', () => {
  it('compiles an expression of exactly the length limit and refuses one character more', () => {
    const of = (n: number) => `event.type == "${'a'.repeat(n - 16)}"`;
    expect(of(EXPRESSION_LIMITS.maxLength)).toHaveLength(EXPRESSION_LIMITS.maxLength);
    expect(compile(of(EXPRESSION_LIMITS.maxLength), ['bool'], 'condition').type).toBe('bool');
    expect(refusal(() => compile(of(EXPRESSION_LIMITS.maxLength + 1), ['bool'], 'condition'))).toMatchObject({ code: 'BAD_USER_INPUT', message: /limit is 2000/ });
  });

  it('allows nesting down to the depth limit and refuses one level more', () => {
    // `_>_` is level 0, size 1, the lists 2.., the innermost literal n + 2.
    const nested = (n: number) => `size(${'['.repeat(n)}1${']'.repeat(n)}) > 0`;
    expect(evaluate(nested(EXPRESSION_LIMITS.maxDepth - 2))).toEqual({ value: true });
    expect(refusal(() => compile(nested(EXPRESSION_LIMITS.maxDepth - 1), ['bool'], 'condition'))).toMatchObject({ code: 'BAD_USER_INPUT', message: /nested more than 32 levels/ });
  });

  it('refuses operands of the wrong type where the checker knows them', () => {
    const cases: Array<[string, RegExp]> = [
      ['event.index.low == 1', /type 'int' has no field 'low'/],
      ['event.type == 1', /no matching overload for '_==_' applied to \(string, int\)/],
      ['true < false', /no matching overload for '_<_' applied to \(bool, bool\)/],
      ['count("x", 0) > 1', /count: the window must be 1\.\.2592000 seconds/],
    ];
    for (const [source, message] of cases) expect(refusal(() => compile(source, ['bool'], 'condition')), source).toMatchObject({ code: 'BAD_USER_INPUT', message });
    expect(compile('count("x", 1) > 1 && 1 == 1.0 && "a" < "b"', ['bool'], 'condition').type).toBe('bool');
  });

  it('binds a payload string of exactly the bound and refuses one character more', () => {
    const s = (n: number) => ({ s: 'x'.repeat(n) });
    expect(evaluate('size(event.payload.s) > 0', s(EXPRESSION_LIMITS.maxPayloadString))).toEqual({ value: true });
    expect(() => eventInput(trigger(s(EXPRESSION_LIMITS.maxPayloadString + 1)))).toThrow(/longer than 8192 characters/);
  });

  it('charges every macro iteration, so a long loop with a cheap body stops at the budget', () => {
    const l = Array.from({ length: 256 }, (_, i) => i);
    // 5,120 iterations; building the list costs about 50,000 units, the loop about 1,200,000.
    const long = `(${Array(20).fill('event.payload.l').join(' + ')}).all(x, x >= 0)`;
    expect(evaluate(long, { l })).toEqual({ error: `evaluation cost exceeded the budget of ${EXPRESSION_LIMITS.maxCost}` });
    expect(evaluate('event.payload.l.all(x, x >= 0)', { l })).toEqual({ value: true });
  });

  it('writes integers past 2^53 as decimal strings, so no digit is lost', () => {
    expect(toJson(9_007_199_254_740_993n)).toBe('9007199254740993');
    expect(toJson(-9_007_199_254_740_993n)).toBe('-9007199254740993');
    expect(toJson(9_007_199_254_740_991n)).toBe(9_007_199_254_740_991);
  });
});

describe('contract input bounds', () => {
  const alert = { raiseAlert: { severity: 'INFO', message: 'm' } };

  it('takes 1..10 actions', () => {
    expect(checkContract(contractInput({ actions: Array(10).fill(alert) })).actions).toHaveLength(10);
    expect(refusal(() => checkContract(contractInput({ actions: Array(11).fill(alert) })))).toMatchObject({ code: 'BAD_USER_INPUT', message: /1\.\.10 actions/ });
  });

  it('needs at least one trigger event type', () => {
    expect(refusal(() => checkContract(contractInput({ trigger: { eventTypes: [] } })))).toMatchObject({ code: 'BAD_USER_INPUT', message: /trigger.eventTypes must list 1\.\.50/ });
  });

  it('takes a per-actor cap of at least one firing', () => {
    expect(checkContract(contractInput({ limits: { maxFiringsPerActor: 1 } })).limits).toEqual({ maxFiringsPerActor: 1, windowSeconds: 86_400 });
    expect(refusal(() => checkContract(contractInput({ limits: { maxFiringsPerActor: 0 } })))).toMatchObject({ code: 'BAD_USER_INPUT', message: /maxFiringsPerActor must be 1\.\.1000000/ });
  });

  it('a proposal\'s rule action creates a contract active unless it says otherwise, and refuses a non-boolean active', () => {
    expect(checkRuleAction({ create: contractInput() }, 'rule')).toMatchObject({ create: { active: true } });
    expect(checkRuleAction({ create: { ...contractInput(), active: false } }, 'rule')).toMatchObject({ create: { active: false } });
    expect(refusal(() => checkRuleAction({ create: { ...contractInput(), active: 'no' } }, 'rule'))).toMatchObject({ code: 'BAD_USER_INPUT', message: /create.active must be a boolean/ });
  });
});
