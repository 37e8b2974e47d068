import type { RuleActionHandler } from '../governance/events.js';
import type { AppendInput } from '../ledger/events/event.js';
import { checkRuleAction, type StoredRule } from './contract-input.js';
import { RULES_SUBSYSTEM } from './events.js';
import { projectRules } from './projector.js';

/**
 * Proposals create, enable and disable contracts and change their parameters:
 * `rule: {create: <CreateContractInput>}`, `rule: {setActive: {id, active}}` or
 * `rule: {setParameters: {id, parameters}}`. Checked by `checkRuleAction` when the proposal is made;
 * executed as the same rules events, in the proposal's execution transaction.
 */
export const ruleProposalActions: RuleActionHandler = {
  check: checkRuleAction,
  inputs(actor: string, rule: unknown, proposalId: string): AppendInput[] {
    const r = rule as StoredRule;
    if ('create' in r) return [{ type: 'ContractCreated', actor, resource: 'contract', subsystem: RULES_SUBSYSTEM, payload: { ...r.create, proposalId } }];
    if ('setParameters' in r) return [{ type: 'ContractParametersSet', actor, resource: `contract/${r.setParameters.contractId}`, subsystem: RULES_SUBSYSTEM, payload: { ...r.setParameters, proposalId } }];
    return [{ type: 'ContractActiveSet', actor, resource: `contract/${r.setActive.contractId}`, subsystem: RULES_SUBSYSTEM, payload: { ...r.setActive, proposalId } }];
  },
  project: (tx, events) => projectRules(tx, events),
};
