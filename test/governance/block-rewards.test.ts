import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { governanceInput } from '../../src/governance/events.js';
import { openGovernance, type TestGovernance } from './support.js';

const log = pino({ level: 'silent' });
let t: TestGovernance;
beforeEach(async () => {
  t = await openGovernance({ CHAINPROOF_MINING_REWARD: '7' });
});
afterEach(async () => {
  await t?.gov.stop();
  await t?.close();
});

/**
 * Seals a block holding one event of work and returns its height. Blocks are sealed only when
 * asked (no producer runs), but a pass of the producer may seal a reward mint waiting on its own
 * first: such a block earns nothing, so tests name the blocks that hold work.
 */
async function sealBlock(actor: string): Promise<number> {
  const [e] = await t.service.append('main', [{ type: 'work', actor }]);
  await t.service.createCheckpoint('main');
  return (await t.service.blockHeightOf('main', e!.index))!;
}

async function rewardedHeights(): Promise<number[]> {
  const page = await t.service.events('main', { types: ['TokensMinted'] }, { first: 100 });
  return page.items
    .map((i) => (i.node.payload as { source?: string }).source ?? '')
    .filter((s) => s.startsWith('block:'))
    .map((s) => Number(s.split(':')[1]));
}

async function expectRewarded(heights: number[]): Promise<void> {
  await vi.waitFor(async () => expect(await rewardedHeights()).toEqual(heights), { timeout: 10_000, interval: 50 });
}

describe('block rewards across starts', () => {
  it('reward a block sealed before they first started, once', async () => {
    const a = await sealBlock('a');
    await t.gov.startBlockRewards(log);
    await expectRewarded([a]);
    const b = await sealBlock('b');
    await expectRewarded([a, b]);
  });

  it('resume after block 0 when that is the last rewarded, so a block sealed while they were stopped is rewarded', async () => {
    await t.gov.startBlockRewards(log);
    const a = await sealBlock('a');
    expect(a).toBe(0);
    await expectRewarded([0]);
    await t.gov.stop();
    const b = await sealBlock('b');
    await t.gov.startBlockRewards(log);
    await expectRewarded([0, b]);
    const c = await sealBlock('c');
    await expectRewarded([0, b, c]);
  });
});

describe('which blocks earn a reward', () => {
  /** What another domain derived, by index: firings it wrote in response to an earlier event. */
  const derivedFrom = new Map<number, number>();
  const useDerived = () => t.gov.useDerivedEvents({ causes: async (_ledgerId, indices) => new Map(indices.flatMap((i) => (derivedFrom.has(i) ? [[i, derivedFrom.get(i)!] as const] : []))) });
  const rewardMints = async () => (await t.service.events('main', { types: ['TokensMinted'] }, { first: 100 })).items.map((i) => i.node).filter((e) => ((e.payload as { source?: string }).source ?? '').startsWith('block:'));

  it('a block holding activity beside a firing that a reward mint set off earns its reward, one holding only that firing earns none, and a firing set off by earlier work earns one', async () => {
    useDerived();
    await t.gov.startBlockRewards(log);
    const first = await sealBlock('a');
    await expectRewarded([first]);
    const [mint] = await rewardMints();
    // A contract's firing on the reward mint, beside real work: the block has activity.
    const [fired] = await t.service.append('main', [{ type: 'fired', actor: 'rules' }]);
    derivedFrom.set(fired!.index, mint!.index);
    const mixed = await sealBlock('b');
    expect(await t.service.blockHeightOf('main', fired!.index)).toBe(mixed);
    await expectRewarded([first, mixed]);
    // A block of nothing but a firing on a reward mint (and reward mints) earns nothing.
    const [second] = (await rewardMints()).slice(-1);
    const [echo] = await t.service.append('main', [{ type: 'fired', actor: 'rules' }]);
    derivedFrom.set(echo!.index, second!.index);
    await t.service.createCheckpoint('main');
    const quiet = await t.service.blockHeightOf('main', echo!.index);
    const [work] = await t.service.append('main', [{ type: 'work', actor: 'c' }]);
    await t.service.createCheckpoint('main');
    const last = (await t.service.blockHeightOf('main', work!.index))!;
    await expectRewarded([first, mixed, last]);
    expect(quiet).not.toBe(last);
    // A firing that work in an earlier block set off is activity too, alone in its block.
    const [onWork] = await t.service.append('main', [{ type: 'fired', actor: 'rules' }]);
    derivedFrom.set(onWork!.index, work!.index);
    await t.service.createCheckpoint('main');
    await expectRewarded([first, mixed, last, (await t.service.blockHeightOf('main', onWork!.index))!]);
  });
});

describe('a reward set to nothing', () => {
  it('a block sealed while a proposal has set the reward to zero is passed over, and the next block is rewarded once one is set again', async () => {
    // What an executed proposal's setParameter writes.
    const setReward = (value: string) => (t.gov as unknown as { append(inputs: unknown[]): Promise<unknown> }).append.bind(t.gov)([
      governanceInput('LedgerParameterSet', 'gov', 'ledger/main', { ledger: 'main', name: 'miningReward', value, proposalId: 'ab'.repeat(32) }),
    ]);
    await setReward('0');
    await t.gov.startBlockRewards(log);
    const idle = await sealBlock('a');
    await vi.waitFor(async () => {
      const [cursor] = await t.db.dataSource.query(`SELECT rewarded_height FROM gov_reward_cursor WHERE ledger = 'main'`);
      expect(Number(cursor?.rewarded_height)).toBeGreaterThanOrEqual(idle);
    }, { timeout: 10_000, interval: 50 });
    await setReward('3');
    const paid = await sealBlock('b');
    await expectRewarded([paid]);
    const [mint] = (await t.service.events('main', { types: ['TokensMinted'] }, { first: 100 })).items.map((i) => i.node).filter((e) => ((e.payload as { source?: string }).source ?? '').startsWith('block:'));
    expect((mint!.payload as { amount: string }).amount).toBe('3');
  });
});
