import { ChainproofError } from '../errors.js';
import { isHexId } from '../ledger/events/envelope.js';
import type { RuleActionHandler } from '../governance/events.js';
import type { AppendInput } from '../ledger/events/event.js';
import { checkContract, type CreateContractInput } from './contract-input.js';
import { RULES_SUBSYSTEM, type ContractDefinition } from './events.js';
import { projectRules } from './projector.js';

/** A proposal's `rule` action, as stored on the proposal once checked. */
type StoredRule = { create: ContractDefinition & { active: boolean } } | { setActive: { contractId: string; active: boolean } };

/**
 * Proposals create, enable and disable contracts: `rule: {create: <CreateContractInput>}` or
 * `rule: {setActive: {id, active}}`. Checked like `createContract` when the proposal is made;
 * executed as the same rules events, in the proposal's execution transaction.
 */
export const ruleProposalActions: RuleActionHandler = {
  check(rule: unknown, field: string): StoredRule {
    const r = (rule ?? {}) as { create?: CreateContractInput & { active?: boolean }; setActive?: { id?: unknown; active?: unknown } };
    if (typeof rule !== 'object' || rule === null || (r.create === undefined) === (r.setActive === undefined)) {
      throw new ChainproofError('BAD_USER_INPUT', `${field} must have exactly one of create, setActive`);
    }
    try {
      if (r.create !== undefined) return { create: { ...checkContract(r.create), active: r.create.active !== false } };
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
    return [{ type: 'ContractActiveSet', actor, resource: `contract/${r.setActive.contractId}`, subsystem: RULES_SUBSYSTEM, payload: { ...r.setActive, proposalId } }];
  },
  project: (tx, events) => projectRules(tx, events),
};
