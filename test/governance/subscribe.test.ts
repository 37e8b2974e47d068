import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOVERNANCE_SUBSYSTEM } from '../../src/governance/events.js';
import { canonicalBytes } from '../../src/ledger/events/envelope.js';
import type { LedgerEvent } from '../../src/ledger/events/event.js';
import { openGovernance, proposalInput, type TestGovernance } from './support.js';

let t: TestGovernance;
beforeAll(async () => {
  t = await openGovernance();
});
afterAll(() => t?.close());

describe('governance subscriptions', () => {
  it('follow this node\'s governance only: a peer\'s governance events synced into the ledger are not its proposals', async () => {
    const sub = await t.gov.subscribe(() => true);
    // A copy of another node's ProposalCreated, as sync appends it: its bytes, its origin.
    const foreign = canonicalBytes({
      ledger: 'peer.example/main', type: 'ProposalCreated', actor: 'someone', subsystem: GOVERNANCE_SUBSYSTEM, parents: [],
      hlc: { physicalMs: Date.now() - 1000, logical: 0 }, payload: { title: 'not here' },
    });
    const [copy] = await t.service.appendReplicated('main', [{ canonical: foreign, signature: null }]);
    expect(copy!.origin).toBe('peer.example/main');
    const local = await t.gov.createProposal('proposer', proposalInput({ quorum: 0 }));
    const first = (await sub.next()).value as LedgerEvent;
    expect(first.id).toBe(local.id);
    expect(await t.gov.proposal(copy!.id)).toBeNull();
    await sub.return?.();
  });
});
