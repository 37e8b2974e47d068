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
