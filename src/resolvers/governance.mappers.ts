import { tallyText } from '../governance/tally.js';
import type { AccountView, HistoryEntry, ProposalView, VoteView } from '../governance/governance-service.js';
import type { Account, BalanceChange, Proposal, Vote } from '../schema/governance.type.js';
import type { ProposalStateEnum, VoteChoiceEnum, VotingTypeEnum } from '../schema/governance.type.js';

// Amounts are bigints inside; GraphQL carries them as decimal strings.

/** An account whose row is read at most once, by the first field that needs it. */
export const toAccount = (id: string, read: () => Promise<AccountView>): Account => {
  let row: Promise<AccountView> | undefined;
  return { id, current: () => (row ??= read()) };
};

export const toBalanceChange = (h: HistoryEntry): BalanceChange => ({ ...h, delta: h.delta.toString(), balance: h.balance.toString() });

export const toVote = (v: VoteView): Vote => ({ ...v, choice: v.choice as VoteChoiceEnum, power: v.power.toString() });

export const toProposal = (p: ProposalView): Proposal => ({
  ...p,
  votingType: p.votingType as VotingTypeEnum,
  state: p.state as ProposalStateEnum,
  supplyAtSnapshot: p.supplyAtSnapshot?.toString() ?? null,
  tally: tallyText(p.tally),
});
