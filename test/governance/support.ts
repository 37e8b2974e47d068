import { vi } from 'vitest';
import { GovernanceService } from '../../src/governance/governance-service.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

export interface TestGovernance extends TestLedger {
  gov: GovernanceService;
  /** Moves the clock the ledger stamps events with (and proposal states are read against). */
  advance(seconds: number): void;
  treeSize(): Promise<number>;
}

/**
 * Governance on a fresh database. Time is the ledger's (HLC from Date.now()), so tests fake
 * `Date` only and move it forward; timers and I/O stay real.
 */
export async function openGovernance(env: Record<string, string> = {}): Promise<TestGovernance> {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  const t = await openTestLedger(env, { produceBlocks: false });
  const gov = new GovernanceService(t.db.dataSource, t.service, t.config.governance);
  await gov.start();
  return {
    ...t,
    gov,
    advance: (seconds) => vi.setSystemTime(Date.now() + seconds * 1000),
    treeSize: async () => (await t.service.head('main')).treeSize,
    async close() {
      await t.close();
      vi.useRealTimers();
    },
  };
}

/** A proposal with defaults that tests override: open after 10 s for 60 s, simple majority, 4 % quorum. */
export const proposalInput = (over: Record<string, unknown> = {}) => ({
  title: 'Reward the on-call rotation',
  description: 'Mint 100 to oncall',
  votingType: 'WEIGHTED' as const,
  votingDelay: 10,
  votingPeriod: 60,
  quorum: 0.04,
  threshold: 0.5,
  timelock: 30,
  actions: [{ mint: { to: 'oncall', amount: '100' } }],
  ...over,
});
