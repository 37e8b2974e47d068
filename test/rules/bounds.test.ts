import { describe, expect, it } from 'vitest';
import { celMap } from '../../src/rules/cel.js';
import { checkContract, checkRuleAction, type CreateContractInput } from '../../src/rules/contract-input.js';
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
    expect(refusal(() => compile(of(EXPRESSION_LIMITS.maxLength + 1), ['bool'], 'condition'))).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/limit is 2000/) });
  });

  it('allows nesting down to the depth limit and refuses one level more', () => {
    // `_>_` is level 0, size 1, the lists 2.., the innermost literal n + 2.
    const nested = (n: number) => `size(${'['.repeat(n)}1${']'.repeat(n)}) > 0`;
    expect(evaluate(nested(EXPRESSION_LIMITS.maxDepth - 2))).toEqual({ value: true });
    expect(refusal(() => compile(nested(EXPRESSION_LIMITS.maxDepth - 1), ['bool'], 'condition'))).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/nested more than 32 levels/) });
  });

  it('refuses operands of the wrong type where the checker knows them', () => {
    const cases: Array<[string, RegExp]> = [
      ['event.index.low == 1', /type 'int' has no field 'low'/],
      ['event.type == 1', /no matching overload for '_==_' applied to \(string, int\)/],
      ['true < false', /no matching overload for '_<_' applied to \(bool, bool\)/],
      ['count("x", 0) > 1', /count: the window must be 1\.\.2592000 seconds/],
    ];
    for (const [source, message] of cases) expect(refusal(() => compile(source, ['bool'], 'condition')), source).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
    expect(compile('count("x", 1) > 1 && 1 == 1.0 && "a" < "b"', ['bool'], 'condition').type).toBe('bool');
  });

  it('refuses each operator on an operand whose type it knows to be wrong', () => {
    const cases: Array<[string, RegExp]> = [
      ['event.index && true', /no matching overload for '_&&_' applied to \(int, bool\)/],
      ['event.type < event.index', /no matching overload for '_<_' applied to \(string, int\)/],
      ['-event.type == ""', /no matching overload for '-_' applied to \(string\)/],
      ['event.index ? true : false', /no matching overload for '_\?_:_' applied to \(int, bool, bool\)/],
      ['event.index[0] == 1', /no matching overload for '_\[_\]' applied to \(int, int\)/],
      ['[1, 2]["a"] == 1', /no matching overload for '_\[_\]' applied to \(list, string\)/],
      ['1 in event.index', /no matching overload for '@in' applied to \(int, int\)/],
      ['size(event.index) > 0', /no matching overload for 'size' applied to \(int\)/],
      ['event.index.contains("1")', /no matching overload for 'contains' applied to \(int, string\)/],
      ['event.type.contains(1)', /no matching overload for 'contains' applied to \(string, int\)/],
      ['int(event.type, 10) > 0', /no matching overload for 'int' applied to \(string, int\)/],
      ['has(event.payload.a) == 1', /no matching overload for '_==_' applied to \(bool, int\)/],
      ['event.index.all(x, true)', /cannot iterate over 'int'/],
      ['count("x") > 1', /count takes 2 arguments \(string, int\)/],
      ['event.type.count("x", 60) > 1', /undeclared reference to function 'count'/],
      ['event.index + 1', /has type int; expected bool/],
    ];
    for (const [source, message] of cases) expect(refusal(() => compile(source, ['bool'], 'condition')), source).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
  });

  it('refuses literals, messages, aggregate arguments and operand counts the evaluator could not take', () => {
    const cases: Array<[string, RegExp]> = [
      ['9223372036854775808 > 0', /integer literal 9223372036854775808 is out of int range/],
      ['Foo{a: 1} == 1', /messages are not available \(Foo\)/],
      ['count("x", 60, 1) > 1', /count takes 2 arguments \(string, int\)/],
      ['count("x", 60.0) > 1', /argument 2 of count must be a literal int/],
      ['true + true', /no matching overload for '_\+_' applied to \(bool, bool\)/],
      ['"a" - "b" == ""', /no matching overload for '_-_' applied to \(string, string\)/],
      ['size("a", "b") > 0', /no matching overload for 'size' applied to \(string, string\)/],
      ['"a".contains()', /no matching overload for 'contains' applied to \(string\)/],
      ['"a".contains("b", "c")', /no matching overload for 'contains' applied to \(string, string, string\)/],
    ];
    for (const [source, message] of cases) expect(refusal(() => compile(source, ['bool'], 'condition')), source).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
  });

  /** Shapes the checker must not refuse: a field compared to null, a map iterated over, a conditional of mixed types. */
  it('takes the largest int literal, null comparisons, macros over maps and conditionals of two types', () => {
    const cases: Array<[string, boolean]> = [
      ['9223372036854775807 > 0', true],
      ['event.type != null', true],
      ['{"a": 1}.all(k, k == "a")', true],
      ['(true ? 1 : "a") == "a"', false],
    ];
    for (const [source, value] of cases) expect(evaluate(source), source).toEqual({ value });
  });

  it('takes aggregate windows of 1 second up to 30 days, and refuses one second more', () => {
    expect(compile('count("x", 2592000) > 1 && ratio("x", "ok", 1) < 0.5', ['bool'], 'condition').type).toBe('bool');
    expect(refusal(() => compile('sum("x", "n", 2592001) > 1.0', ['bool'], 'condition'))).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/sum: the window must be 1\.\.2592000 seconds/) });
  });

  it('binds a payload string of exactly the bound and refuses one character more', () => {
    const s = (n: number) => ({ s: 'x'.repeat(n) });
    expect(evaluate('size(event.payload.s) > 0', s(EXPRESSION_LIMITS.maxPayloadString))).toEqual({ value: true });
    expect(() => eventInput(trigger(s(EXPRESSION_LIMITS.maxPayloadString + 1)))).toThrow(/longer than 8192 characters/);
  });

  it('binds a payload nested exactly 8 levels deep and refuses one level more', () => {
    const nested = (n: number): unknown => (n === 0 ? 1 : { a: nested(n - 1) });
    const path = (n: number) => `event.payload${'.a'.repeat(n - 1)}.a == 1`;
    expect(evaluate(path(EXPRESSION_LIMITS.maxPayloadDepth), nested(EXPRESSION_LIMITS.maxPayloadDepth))).toEqual({ value: true });
    expect(() => eventInput(trigger(nested(EXPRESSION_LIMITS.maxPayloadDepth + 1)))).toThrow(/nested deeper than 8/);
  });

  /** An event without a payload reads as one with an empty payload, so a condition on its fields is false rather than an error. */
  it('binds a missing payload as an empty map', () => {
    expect(evaluate('size(event.payload) == 0 && !has(event.payload.a)', undefined)).toEqual({ value: true });
    expect(evaluate('size(event.payload) == 0 && !has(event.payload.a)', null)).toEqual({ value: true });
  });

  it('binds a payload of lists nested exactly 8 levels deep and refuses one level more', () => {
    const nested = (n: number): unknown => (n === 0 ? 1 : [nested(n - 1)]);
    expect(evaluate(`event.payload.l${'[0]'.repeat(EXPRESSION_LIMITS.maxPayloadDepth - 1)} == 1`, { l: nested(EXPRESSION_LIMITS.maxPayloadDepth - 1) })).toEqual({ value: true });
    expect(() => eventInput(trigger({ l: nested(EXPRESSION_LIMITS.maxPayloadDepth) }))).toThrow(/nested deeper than 8/);
  });

  it('binds a payload list of 256 elements and an object of 256 keys, and refuses one more of either', () => {
    const list = (n: number) => ({ l: Array.from({ length: n }, (_, i) => i) });
    const object = (n: number) => ({ o: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])) });
    expect(evaluate('size(event.payload.l) == 256', list(EXPRESSION_LIMITS.maxPayloadList))).toEqual({ value: true });
    expect(evaluate('size(event.payload.o) == 256', object(EXPRESSION_LIMITS.maxPayloadList))).toEqual({ value: true });
    expect(() => eventInput(trigger(list(EXPRESSION_LIMITS.maxPayloadList + 1)))).toThrow(/list has more than 256 elements/);
    expect(() => eventInput(trigger(object(EXPRESSION_LIMITS.maxPayloadList + 1)))).toThrow(/object has more than 256 keys/);
  });

  it('reads only a payload\'s own keys and the event\'s fields: names every JavaScript object has are not keys', () => {
    expect(evaluate('has(event.payload.constructor) || has(event.payload.toString) || "valueOf" in event.payload', {})).toEqual({ value: false });
    expect(evaluate('"constructor" in event || "nope" in event', {})).toEqual({ value: false });
    expect(evaluate('"payload" in event && "a" in event.payload && has(event.payload.a)', { a: 1 })).toEqual({ value: true });
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
    expect(refusal(() => checkContract(contractInput({ actions: Array(11).fill(alert) })))).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/1\.\.10 actions/) });
  });

  it('takes parameters whose objects have 256 keys, and refuses one more', () => {
    const object = (n: number) => ({ o: Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])) });
    expect(checkContract(contractInput({ parameters: object(EXPRESSION_LIMITS.maxPayloadList) })).parameters).toEqual(object(EXPRESSION_LIMITS.maxPayloadList));
    expect(refusal(() => checkContract(contractInput({ parameters: object(EXPRESSION_LIMITS.maxPayloadList + 1) })))).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/parameters: a payload object has more than 256 keys/) });
  });

  it('takes parameters nested as deep as a payload may be, and refuses one level more', () => {
    const nested = (n: number): Record<string, unknown> => (n === 1 ? { a: 1 } : { a: nested(n - 1) });
    expect(checkContract(contractInput({ parameters: nested(EXPRESSION_LIMITS.maxPayloadDepth) })).parameters).toEqual(nested(EXPRESSION_LIMITS.maxPayloadDepth));
    expect(refusal(() => checkContract(contractInput({ parameters: nested(EXPRESSION_LIMITS.maxPayloadDepth + 1) })))).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/parameters: payload is nested deeper than 8/) });
  });

  it('takes each field of a contract up to its bound and refuses one past it', () => {
    const types = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
    // Three keys, so that no string in them passes the payload string bound: exactly n characters of JSON.
    const params = (n: number) => ({ a: 'x'.repeat(8_000), b: 'x'.repeat(8_000), c: 'x'.repeat(n - 16_022) });
    expect(JSON.stringify(params(16_384))).toHaveLength(16_384);
    const taken: Array<Partial<CreateContractInput>> = [
      { trigger: { eventTypes: types(50) } },
      { trigger: { eventTypes: [`t${'x'.repeat(127)}`] } },
      { trigger: { eventTypes: ['t'], subsystem: 's'.repeat(63), actor: 'a'.repeat(600) } },
      { limits: { maxFiringsPerActor: 1_000_000, windowSeconds: 1 } },
      { limits: { windowSeconds: EXPRESSION_LIMITS.maxWindowSeconds } },
      { parameters: params(16_384) },
      { name: 'n'.repeat(200), description: 'd'.repeat(10_000) },
      { actions: [{ raiseAlert: { severity: 'INFO', message: 'm'.repeat(2_000) } }, { mintTokens: { to: 'event.actor', amountExpr: '1', reason: '' } }] },
    ];
    for (const over of taken) expect(refusal(() => checkContract(contractInput(over))), JSON.stringify(over).slice(0, 80)).toBeUndefined();
    const refused: Array<[Partial<CreateContractInput>, RegExp]> = [
      [{ trigger: { eventTypes: types(51) } }, /trigger.eventTypes must list 1\.\.50/],
      [{ trigger: { eventTypes: [`t${'x'.repeat(128)}`] } }, /trigger.eventTypes\[0\] must be an event type/],
      [{ trigger: { eventTypes: ['t'], subsystem: '' } }, /trigger.subsystem must be 1\.\.63 characters/],
      [{ trigger: { eventTypes: ['t'], subsystem: 's'.repeat(64) } }, /trigger.subsystem must be 1\.\.63 characters/],
      [{ trigger: { eventTypes: ['t'], actor: 'a'.repeat(601) } }, /trigger.actor must be 1\.\.600 characters/],
      [{ limits: { maxFiringsPerActor: 1_000_001 } }, /maxFiringsPerActor must be 1\.\.1000000/],
      [{ limits: { windowSeconds: 0 } }, /windowSeconds must be 1\.\.2592000/],
      [{ limits: { windowSeconds: EXPRESSION_LIMITS.maxWindowSeconds + 1 } }, /windowSeconds must be 1\.\.2592000/],
      [{ parameters: params(16_385) }, /parameters must be a JSON object of at most 16 KiB/],
      [{ parameters: [1] as never }, /parameters must be a JSON object/],
      [{ name: '' }, /name must be 1\.\.200 characters/],
      [{ name: 'n'.repeat(201) }, /name must be 1\.\.200 characters/],
      [{ description: 'd'.repeat(10_001) }, /description must be 0\.\.10000 characters/],
      [{ actions: [{ raiseAlert: { severity: 'INFO', message: '' } }] }, /raiseAlert.message must be 1\.\.2000 characters/],
      [{ actions: [{ mintTokens: { to: 'event.actor', amountExpr: '1', reason: 'r'.repeat(2_001) } }] }, /mintTokens.reason must be 0\.\.2000 characters/],
      [{ actions: [{}] }, /action 0 must have exactly one of/],
    ];
    for (const [over, message] of refused) expect(refusal(() => checkContract(contractInput(over))), String(message)).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
  });

  /** Each expression is checked against what its action writes: a double amount or a list payload is refused at creation, not at every firing. */
  it('refuses an expression whose type its action cannot use', () => {
    const refused: Array<[Partial<CreateContractInput>, RegExp]> = [
      [{ condition: '1' }, /condition has type int; expected bool/],
      [{ actions: [{ mintTokens: { to: '1', amountExpr: '1', reason: 'r' } }] }, /to has type int; expected string/],
      [{ actions: [{ mintTokens: { to: 'event.actor', amountExpr: '1.5', reason: 'r' } }] }, /amountExpr has type double; expected int or uint or string/],
      [{ actions: [{ setParameter: { ledger: 'main', name: 'checkpointInterval', valueExpr: '2.0' } }] }, /valueExpr has type double; expected int or uint or string/],
      [{ actions: [{ appendEvent: { type: 'x', payloadExpr: '[1]' } }] }, /payloadExpr has type list; expected map/],
    ];
    for (const [over, message] of refused) expect(refusal(() => checkContract(contractInput(over))), String(message)).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
  });

  it('lists an event type given twice once', () => {
    expect(checkContract(contractInput({ trigger: { eventTypes: ['a', 'b', 'a'] } })).trigger.eventTypes).toEqual(['a', 'b']);
  });

  it('a proposal\'s rule action names one change, of a contract by its id, with active a boolean', () => {
    const id = 'ab'.repeat(32);
    expect(checkRuleAction({ setActive: { id, active: false } }, 'rule')).toEqual({ setActive: { contractId: id, active: false } });
    expect(checkRuleAction({ setParameters: { id, parameters: { a: 1 } } }, 'rule')).toEqual({ setParameters: { contractId: id, parameters: { a: 1 } } });
    const refused: Array<[unknown, RegExp]> = [
      [{ setActive: { id, active: 'no' } }, /setActive needs id \(a contract id\) and active \(a boolean\)/],
      [{ setActive: { id: 'nope', active: true } }, /setActive needs id/],
      [{ setParameters: { id: 'nope', parameters: {} } }, /setParameters needs id \(a contract id\)/],
      [{}, /rule must have exactly one of create, setActive, setParameters/],
      [{ create: null, setActive: null }, /rule must have exactly one of/],
    ];
    for (const [rule, message] of refused) expect(refusal(() => checkRuleAction(rule, 'rule')), String(message)).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(message) });
  });

  it('needs at least one trigger event type', () => {
    expect(refusal(() => checkContract(contractInput({ trigger: { eventTypes: [] } })))).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/trigger.eventTypes must list 1\.\.50/) });
  });

  it('takes a per-actor cap of at least one firing', () => {
    expect(checkContract(contractInput({ limits: { maxFiringsPerActor: 1 } })).limits).toEqual({ maxFiringsPerActor: 1, windowSeconds: 86_400 });
    expect(refusal(() => checkContract(contractInput({ limits: { maxFiringsPerActor: 0 } })))).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/maxFiringsPerActor must be 1\.\.1000000/) });
  });

  it('a proposal\'s rule action creates a contract active unless it says otherwise, and refuses a non-boolean active', () => {
    expect(checkRuleAction({ create: contractInput() }, 'rule')).toMatchObject({ create: { active: true } });
    expect(checkRuleAction({ create: { ...contractInput(), active: false } }, 'rule')).toMatchObject({ create: { active: false } });
    expect(refusal(() => checkRuleAction({ create: { ...contractInput(), active: 'no' } }, 'rule'))).toMatchObject({ code: 'BAD_USER_INPUT', message: expect.stringMatching(/create.active must be a boolean/) });
  });
});
