import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkChoice, checkProposal } from '../../src/governance/inputs.js';
import { voteMessageBytes, voteSignatureValid } from '../../src/governance/vote-message.js';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import { thrownCodeOf } from '../support/codes.js';
import { proposalInput } from './support.js';

/** The error code `act` throws, or 'ok'. */
const codeOf = (act: () => unknown): string => thrownCodeOf(act) ?? 'ok';
const mint = { mint: { to: 'oncall', amount: '1' } };

describe('a proposal as submitted', () => {
  it('votes for at least one second, and no longer than a year', () => {
    expect(codeOf(() => checkProposal(proposalInput({ votingPeriod: 1 })))).toBe('ok');
    expect(codeOf(() => checkProposal(proposalInput({ votingPeriod: 365 * 86_400 })))).toBe('ok');
    expect(codeOf(() => checkProposal(proposalInput({ votingPeriod: 0 })))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => checkProposal(proposalInput({ votingPeriod: 365 * 86_400 + 1 })))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => checkProposal(proposalInput({ votingPeriod: 1.5 })))).toBe('BAD_USER_INPUT');
  });

  it('carries at most 20 actions', () => {
    expect(checkProposal(proposalInput({ actions: Array(20).fill(mint) })).actions).toHaveLength(20);
    expect(codeOf(() => checkProposal(proposalInput({ actions: Array(21).fill(mint) })))).toBe('BAD_USER_INPUT');
  });

  it('needs an approval threshold above zero, and takes a quorum of zero or of the whole supply', () => {
    expect(codeOf(() => checkProposal(proposalInput({ threshold: 0 })))).toBe('BAD_USER_INPUT');
    expect(checkProposal(proposalInput({ quorum: 0, threshold: 1 }))).toMatchObject({ quorumPpm: 0, thresholdPpm: 1_000_000 });
    expect(checkProposal(proposalInput({ quorum: 1 }))).toMatchObject({ quorumPpm: 1_000_000 });
  });
});

describe('a vote as submitted', () => {
  it('is FOR, AGAINST or ABSTAIN, nothing else', () => {
    for (const c of ['FOR', 'AGAINST', 'ABSTAIN']) expect(checkChoice(c)).toBe(c);
    for (const c of ['for', 'YES', '', null, 1]) expect(codeOf(() => checkChoice(c)), String(c)).toBe('BAD_USER_INPUT');
  });

  it("counts a signature only as 128 lowercase hex digits of the did:key voter's Ed25519 signature", () => {
    const key = ed25519FromSeed(randomBytes(32));
    const vote = { origin: 'acme/main', proposalId: 'ab'.repeat(32), voter: didKeyFromPublicKey(key.publicKey), choice: 'FOR' as const };
    const signature = key.sign(voteMessageBytes(vote)).toString('hex');
    expect(voteSignatureValid(vote, signature)).toBe(true);
    expect(voteSignatureValid(vote, signature.toUpperCase())).toBe(false);
    expect(voteSignatureValid(vote, `${signature}00`)).toBe(false);
    expect(voteSignatureValid({ ...vote, voter: 'alice' }, signature)).toBe(false);
  });
});
