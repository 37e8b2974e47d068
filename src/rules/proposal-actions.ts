import { ChainproofError } from '../errors.js';
import { isHexId } from '../ledger/events/envelope.js';
import type { RuleActionHandler } from '../governance/events.js';
import type { AppendInput } from '../ledger/events/event.js';
import { checkContract, checkParameters, type CreateContractInput } from './contract-input.js';
import { RULES_SUBSYSTEM, type ContractDefinition } from './events.js';
import { projectRules } from './projector.js';

/** A proposal's `rule` action, as stored on the proposal once checked. */
type StoredRule =
  | { create: ContractDefinition & { active: boolean } }
  | { setActive: { contractId: string; active: boolean } }
  | { setParameters: { contractId: string; parameters: Record<string, unknown> } };

/**
 * Proposals create, enable and disable contracts and change their parameters:
 * `rule: {create: <CreateContractInput>}`, `rule: {setActive: {id, active}}` or
 * `rule: {setParameters: {id, parameters}}`. Checked like `createContract` when the proposal is made;
 * executed as the same rules events, in the proposal's execution transaction.
 */
export const ruleProposalActions: RuleActionHandler = {
  check(rule: unknown, field: string): StoredRule {
    const r = (rule ?? {}) as { create?: CreateContractInput & { active?: boolean }; setActive?: { id?: unknown; active?: unknown }; setParameters?: { id?: unknown; parameters?: unknown } };
    if (typeof rule !== 'object' || rule === null || [r.create, r.setActive, r.setParameters].filter((x) => x !== undefined).length !== 1) {
      throw new ChainproofError('BAD_USER_INPUT', `${field} must have exactly one of create, setActive, setParameters`);
    }
    try {
      if (r.create !== undefined) return { create: { ...checkContract(r.create), active: r.create.active !== false } };
      if (r.setParameters !== undefined) {
        const { id, parameters } = r.setParameters;
        if (typeof id !== 'string' || !isHexId(id)) throw new ChainproofError('BAD_USER_INPUT', 'setParameters needs id (a contract id) and parameters (a JSON object)');
        return { setParameters: { contractId: id, parameters: checkParameters(parameters) } };
      }
      const { id, active } = r.setActive!;
      if (typeof id !== 'string' || !isHexId(id) || typeof active !== 'boolean') throw new ChainproofError('BAD_USER_INPUT', 'setActive needs id (a contract id) and active (a boolean)');
      return { setActive: { contractId: id, active } };
    } catch (e) {
      if (e instanceof ChainproofError) throw new ChainproofError(e.code, `${field}: ${e.message}`, { cause: e });
      throw e;
    }
  },
  inputs(actor: string, rule: unknown, proposalId: string): AppendInput[] {
    const r = rule as StoredRule;
    if ('create' in r) return [{ type: 'ContractCreated', actor, resource: 'contract', subsystem: RULES_SUBSYSTEM, payload: { ...r.create, proposalId } }];
    if ('setParameters' in r) return [{ type: 'ContractParametersSet', actor, resource: `contract/${r.setParameters.contractId}`, subsystem: RULES_SUBSYSTEM, payload: { ...r.setParameters, proposalId } }];
    return [{ type: 'ContractActiveSet', actor, resource: `contract/${r.setActive.contractId}`, subsystem: RULES_SUBSYSTEM, payload: { ...r.setActive, proposalId } }];
  },
  project: (tx, events) => projectRules(tx, events),
};
