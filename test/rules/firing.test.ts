import { describe, expect, it } from 'vitest';
import { checkContract } from '../../src/rules/contract-input.js';
import { fire, type ActionEffects } from '../../src/rules/firing.js';
import { contractRuntime, eventInput, type RuleEvent } from '../../src/rules/runtime.js';
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
