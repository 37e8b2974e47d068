import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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

/** Blocks are sealed only when asked (no producer runs), so each test decides what rewards can see. */
async function sealBlock(actor: string): Promise<void> {
  await t.service.append('main', [{ type: 'work', actor }]);
  await t.service.createCheckpoint('main');
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
    await sealBlock('a');
    await t.gov.startBlockRewards(log);
    await expectRewarded([0]);
    await sealBlock('b');
    await expectRewarded([0, 1]);
  });

  it('resume after block 0 when that is the last rewarded, so a block sealed while they were stopped is rewarded', async () => {
    await t.gov.startBlockRewards(log);
    await sealBlock('a');
    await expectRewarded([0]);
    await t.gov.stop();
    await sealBlock('b');
    await t.gov.startBlockRewards(log);
    await expectRewarded([0, 1]);
    await sealBlock('c');
    await expectRewarded([0, 1, 2]);
  });
});
