import pino from 'pino';
import { expect, vi } from 'vitest';
import { GovernanceService } from '../../src/governance/governance-service.js';
import { RulesService } from '../../src/rules/rules-service.js';
import type { CreateContractInput } from '../../src/rules/contract-input.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

export interface TestRules extends TestLedger {
  gov: GovernanceService;
  rules: RulesService;
  treeSize(): Promise<number>;
  /** Waits until the consumer has settled every event up to the current head. */
  settled(): Promise<void>;
  /** Appends a client event (what contracts trigger on). */
  emit(type: string, actor: string, payload?: unknown, extra?: Record<string, string>): Promise<number>;
  /** A contract's executions, oldest first (the first 100). */
  executions(contractId: string): Promise<Execution[]>;
}

type Execution = Awaited<ReturnType<RulesService['executions']>>['items'][number]['node'];

/** Moves a faked `Date` on by `seconds` (rules' windows are ledger time, stamped from it). */
export const advance = (seconds: number) => vi.setSystemTime(Date.now() + seconds * 1000);

export async function openRules(options: { consumer?: boolean; maxBatch?: number; idlePollMs?: number } = {}): Promise<TestRules> {
  const t = await openTestLedger({}, { produceBlocks: false });
  const gov = new GovernanceService(t.db.dataSource, t.service, t.config.governance);
  await gov.start();
  const rules = new RulesService(t.db.dataSource, t.service, gov, 'admin', options.maxBatch);
  rules.start();
  if (options.consumer !== false) await rules.startConsumer(pino({ level: 'silent' }), { idlePollMs: options.idlePollMs });
  const treeSize = async () => (await t.service.head('main')).treeSize;
  return {
    ...t,
    gov,
    rules,
    treeSize,
    async settled() {
      // The consumer persists its position once idle; the head stops moving once every firing is written.
      await expect.poll(async () => {
        const [row] = await t.db.dataSource.query(`SELECT position FROM rules_cursor`);
        return Number(row?.position ?? -1) === (await treeSize()) - 1;
      }, { timeout: 20_000, interval: 50 }).toBe(true);
    },
    async emit(type, actor, payload = {}, extra = {}) {
      const [e] = await t.service.append('main', [{ type, actor, payload, ...extra }]);
      return e!.index;
    },
    async executions(contractId) {
      return (await rules.executions(contractId, { first: 100 })).items.map((i) => i.node);
    },
    async close() {
      await rules.stop();
      await gov.stop();
      await t.close();
    },
  };
}

export const contractInput = (over: Partial<CreateContractInput> = {}): CreateContractInput => ({
  name: 'Reward bug reports',
  description: 'Mints 15 to whoever files a bug report',
  trigger: { eventTypes: ['bug_report'] },
  condition: 'true',
  actions: [{ mintTokens: { to: 'event.actor', amountExpr: '15', reason: 'bug report' } }],
  ...over,
});
