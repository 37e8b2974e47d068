import { describe, expect, it } from 'vitest';
import { checkContract, type CreateContractInput } from '../../src/rules/contract-input.js';
import { fire, type ActionEffects } from '../../src/rules/firing.js';
import { contractRuntime, eventInput, triggers, type RuleEvent } from '../../src/rules/runtime.js';
import { contractInput } from './support.js';

const NO_EFFECTS = {} as ActionEffects;
const trigger = (flag: unknown): RuleEvent => ({
  id: 'ab'.repeat(32), index: 5, type: 'flagged', actor: 'fl', payload: { flag }, hlc: { physicalMs: 1_700_000_000_000, logical: 0 },
} as RuleEvent);

describe('a condition of another type than bool', () => {
  const def = checkContract(contractInput({
    trigger: { eventTypes: ['flagged'] }, condition: 'event.payload.flag', actions: [{ raiseAlert: { severity: 'INFO', message: 'flagged' } }],
  }));
  const run = (d: typeof def, flag: unknown) => {
    const e = trigger(flag);
    return fire(contractRuntime('c1', 1, d, true), e, { input: eventInput(e) }, 0, new Map(), NO_EFFECTS);
  };

  it('fails the execution of a contract created under the bool rule, naming the type it got', () => {
    expect(def.boolCondition).toBe(true);
    expect(run(def, [1])!.inputs[0]!.payload).toMatchObject({ ok: false, error: 'condition: evaluated to list, not bool', actions: [] });
    expect(run(def, null)!.inputs[0]!.payload).toMatchObject({ ok: false, error: 'condition: evaluated to null_type, not bool' });
    expect(run(def, false)).toBeNull();
    expect(run(def, true)!.inputs.map((i) => i.type)).toEqual(['ContractExecuted', 'AlertRaised']);
  });

  it('does not fire, as before, a contract created before that rule: its ledger replays as it ran', () => {
    const { boolCondition: _, ...older } = def;
    expect(run(older, 'yes')).toBeNull();
    expect(run(older, 1)).toBeNull();
    expect(run(older, true)!.inputs.map((i) => i.type)).toEqual(['ContractExecuted', 'AlertRaised']);
  });
});

describe('what a rule sees of its trigger', () => {
  const alert = [{ raiseAlert: { severity: 'INFO', message: 'm' } }];

  /** A contract applies to events after its ContractCreated only: one triggering on contract events must not fire on its own creation. */
  it('triggers on events after the contract\'s own index, not on the one at it', () => {
    const c = contractRuntime('c1', 5, checkContract(contractInput({ trigger: { eventTypes: ['flagged'] }, actions: alert })), true);
    expect(triggers(c, { ...trigger(true), index: 5 })).toBe(false);
    expect(triggers(c, { ...trigger(true), index: 6 })).toBe(true);
  });

  it('binds every field of the event, the hybrid clock\'s logical counter included', () => {
    const e = { ...trigger(true), author: 'au', resource: 'res/1', subsystem: 'sub', result: 'ok', hlc: { physicalMs: 1_700_000_000_000, logical: 3 } } as RuleEvent;
    const condition = 'event.id == "' + 'ab'.repeat(32) + '" && event.index == 5 && event.type == "flagged" && event.actor == "fl" && event.author == "au"'
      + ' && event.resource == "res/1" && event.subsystem == "sub" && event.result == "ok" && event.payload.flag'
      + ' && event.hlc.physicalMs == 1700000000000 && event.hlc.logical == 3';
    const def = checkContract(contractInput({ trigger: { eventTypes: ['flagged'] }, condition, actions: alert }));
    const f = fire(contractRuntime('c1', 1, def, true), e, { input: eventInput(e) }, 0, new Map(), NO_EFFECTS);
    expect(f?.inputs[0]!.payload).toMatchObject({ ok: true });
  });
});

describe('the values actions compute', () => {
  const effects = {
    mint: (actor, to, amount, reason, source) => ({ type: 'TokensMinted', actor, subsystem: 'governance', payload: { to, amount, reason, source } }),
    setParameter: (actor, ledger, name, value, source) => ({ type: 'LedgerParameterSet', actor, subsystem: 'governance', payload: { ledger, name, value, source } }),
  } as ActionEffects;
  const run = (actions: CreateContractInput['actions']) => {
    const e = trigger(true);
    const def = checkContract(contractInput({ trigger: { eventTypes: ['flagged'] }, actions }));
    return fire(contractRuntime('c1', 1, def, true), e, { input: eventInput(e) }, 0, new Map(), effects)!;
  };

  it('mints an amount computed as a uint like one computed as an int', () => {
    const f = run([{ mintTokens: { to: 'event.actor', amountExpr: '15u', reason: 'r' } }]);
    expect(f.inputs[0]!.payload).toMatchObject({ ok: true, actions: [{ kind: 'mintTokens', ok: true, detail: { to: 'fl', amount: '15' } }] });
    expect(f.inputs[1]!.payload).toMatchObject({ to: 'fl', amount: '15' });
  });

  it('sets a parameter to a value computed as a uint or a decimal string, as to one computed as an int', () => {
    for (const valueExpr of ['500', '500u', '"500"']) {
      const f = run([{ setParameter: { ledger: 'main', name: 'checkpointInterval', valueExpr } }]);
      expect(f.inputs[0]!.payload, valueExpr).toMatchObject({ ok: true, actions: [{ kind: 'setParameter', ok: true, detail: { ledger: 'main', name: 'checkpointInterval', value: '500' } }] });
      expect(f.inputs[1]!.payload, valueExpr).toMatchObject({ name: 'checkpointInterval', value: '500' });
    }
  });

  it('fails an action whose value is not a finite number, and writes nothing for it', () => {
    const f = run([{ appendEvent: { type: 'inf', payloadExpr: '{"x": 1.0 / 0.0}' } }]);
    expect(f.inputs[0]!.payload).toMatchObject({ ok: false, actions: [{ kind: 'appendEvent', ok: false, error: 'result is not a finite number' }] });
    expect(f.inputs).toHaveLength(1);
  });

  it('appends a payload nested 8 levels deep, and fails the action for one nested deeper', () => {
    const nested = (n: number): string => (n === 0 ? '1' : `{"a": ${nested(n - 1)}}`);
    const deep = (n: number) => run([{ appendEvent: { type: 'deep', payloadExpr: nested(n) } }]);
    expect(deep(8).inputs.map((i) => i.type)).toEqual(['ContractExecuted', 'deep']);
    expect(deep(9).inputs[0]!.payload).toMatchObject({ ok: false, actions: [{ kind: 'appendEvent', ok: false, error: 'result is nested too deeply' }] });
    expect(deep(9).inputs).toHaveLength(1);
  });
});
