import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { canonicalBytes } from '../../src/ledger/events/envelope.js';
import { advance, contractInput, openRules, type TestRules } from './support.js';

let t: TestRules;
beforeAll(async () => {
  // Windows are ledger time: fake Date only (events are stamped with it), and move it forward.
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  t = await openRules();
});
afterAll(async () => {
  await t?.close();
  vi.useRealTimers();
});

describe('windows of ledger time', () => {
  it('aggregates count the events of the last windowSeconds seconds up to the trigger', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'windowed', trigger: { eventTypes: ['windowed'] },
      actions: [{ appendEvent: { type: 'window_seen', payloadExpr: '{"count": count("windowed", 60), "sum": sum("windowed", "n", 60), "ratio": ratio("windowed", "ok", 60)}' } }],
    }));
    await t.emit('windowed', 'wes', { n: 1 }, { result: 'ok' });
    advance(10);
    await t.emit('windowed', 'wes', { n: 2 }, { result: 'fail' });
    advance(55); // the first is 65 s old, the second 55 s
    await t.emit('windowed', 'wes', { n: 4 }, { result: 'ok' });
    await t.settled();
    const seen = await Promise.all((await t.executions(c.id)).map(async (x) => (await t.service.eventAt('main', x.index + 1))!.payload));
    expect(seen).toEqual([{ count: 1, sum: 1, ratio: 1 }, { count: 2, sum: 3, ratio: 0.5 }, { count: 2, sum: 6, ratio: 0.5 }]);
  });

  it('the per-actor cap counts the firings of the last windowSeconds seconds', async () => {
    const c = await t.rules.create('admin', contractInput({ name: 'once a minute', trigger: { eventTypes: ['minutely'] }, limits: { maxFiringsPerActor: 1, windowSeconds: 60 } }));
    const first = await t.emit('minutely', 'mia');
    advance(10);
    await t.emit('minutely', 'mia'); // capped: the first fired 10 s ago
    advance(55);
    const third = await t.emit('minutely', 'mia'); // the first is 65 s old
    await t.settled();
    expect((await t.executions(c.id)).map((x) => x.triggerIndex)).toEqual([first, third]);
    expect((await t.gov.account('mia')).balance).toBe(30n);
  });

  /** A window of 60 s is the 60 s before the trigger, exclusive: an event exactly 60 s old is outside it. */
  it('aggregates leave out an event exactly windowSeconds old', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'edge', trigger: { eventTypes: ['edge'] },
      actions: [{ appendEvent: { type: 'edge_seen', payloadExpr: '{"count": count("edge", 60), "sum": sum("edge", "n", 60)}' } }],
    }));
    await t.emit('edge', 'eda', { n: 1 });
    advance(60);
    await t.emit('edge', 'eda', { n: 2 });
    await t.settled();
    const seen = await Promise.all((await t.executions(c.id)).map(async (x) => (await t.service.eventAt('main', x.index + 1))!.payload));
    expect(seen).toEqual([{ count: 1, sum: 1 }, { count: 1, sum: 2 }]);
  });

  it('the per-actor cap no longer counts a firing exactly windowSeconds old', async () => {
    const c = await t.rules.create('admin', contractInput({ name: 'edge cap', trigger: { eventTypes: ['edge_capped'] }, limits: { maxFiringsPerActor: 1, windowSeconds: 60 } }));
    const first = await t.emit('edge_capped', 'eca');
    advance(60);
    const second = await t.emit('edge_capped', 'eca');
    await t.settled();
    expect((await t.executions(c.id)).map((x) => x.triggerIndex)).toEqual([first, second]);
  });

  /** The same edge for a firing not yet written: both triggers settled in one batch, by a consumer started after them. */
  it('the per-actor cap no longer counts an unwritten firing of the same batch exactly windowSeconds old', async () => {
    const paused = await openRules({ consumer: false });
    try {
      const c = await paused.rules.create('admin', contractInput({ name: 'edge cap, one batch', trigger: { eventTypes: ['edge_batched'] }, limits: { maxFiringsPerActor: 1, windowSeconds: 60 } }));
      const first = await paused.emit('edge_batched', 'eba');
      advance(60);
      const second = await paused.emit('edge_batched', 'eba');
      advance(1);
      await paused.emit('edge_batched', 'eba'); // capped: the second, unwritten too, is 1 s old
      const stamps = await Promise.all([first, second].map(async (i) => (await paused.service.eventAt('main', i))!.hlc.physicalMs));
      expect(stamps[1]! - stamps[0]!).toBe(60_000);
      await paused.rules.startConsumer(pino({ level: 'silent' }));
      await paused.settled();
      expect((await paused.executions(c.id)).map((x) => x.triggerIndex)).toEqual([first, second]);
    } finally {
      await paused.close();
    }
  });

  it("aggregates leave out copies synced from a peer: they are the peer's history, not this node's", async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'own only', trigger: { eventTypes: ['copied'] },
      actions: [{ appendEvent: { type: 'own_seen', payloadExpr: '{"count": count("copied", 60), "sum": sum("copied", "n", 60), "ratio": ratio("copied", "ok", 60)}' } }],
    }));
    const copies = [1, 2].map((i) => canonicalBytes({
      ledger: 'peer.example/main', type: 'copied', actor: 'peer-writer', result: 'fail', parents: [],
      hlc: { physicalMs: Date.now() - 1000 + i, logical: 0 }, payload: { n: 100 },
    }));
    await t.service.appendReplicated('main', copies.map((canonical) => ({ canonical, signature: null })));
    await t.emit('copied', 'cody', { n: 1 }, { result: 'ok' });
    await t.settled();
    const xs = await t.executions(c.id);
    expect(xs).toHaveLength(1); // the copies trigger nothing either
    expect((await t.service.eventAt('main', xs[0]!.index + 1))!.payload).toEqual({ count: 1, sum: 1, ratio: 1 });
  });

  it('sum adds a field where it is a number, and a ratio over no events is 0', async () => {
    const c = await t.rules.create('admin', contractInput({
      name: 'summed', trigger: { eventTypes: ['summed'] },
      actions: [{ appendEvent: { type: 'sum_seen', payloadExpr: '{"sum": sum("summed", "n", 60), "none": ratio("never_appended", "ok", 60)}' } }],
    }));
    await t.emit('summed', 'sue', { n: 2 });
    await t.emit('summed', 'sue', { n: '40' });
    await t.emit('summed', 'sue', { n: { v: 1 } });
    await t.settled();
    const xs = await t.executions(c.id);
    expect(xs.map((x) => x.ok)).toEqual([true, true, true]);
    const seen = await Promise.all(xs.map(async (x) => (await t.service.eventAt('main', x.index + 1))!.payload));
    expect(seen).toEqual([{ sum: 2, none: 0 }, { sum: 2, none: 0 }, { sum: 2, none: 0 }]);
  });
});
