import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../src/ledger/pagination.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

// A bus queue of 10 messages: a replay outlasting ten live events must still not fail as slow.
let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger({ CHAINPROOF_SUBSCRIBER_QUEUE: '10' }, { produceBlocks: false });
  await t.service.createLedger('replayed', {});
  for (let i = 0; i < 3; i++) {
    await t.service.append('replayed', Array.from({ length: 400 }, (_, k) => ({ type: 'old', actor: `a${i * 400 + k}` })));
  }
});
afterAll(async () => t?.close());

/** Appends one event at a time while `reading` lasts: the live traffic a replay runs beside. */
function appendWhile(reading: { done: boolean }): Promise<number> {
  return (async () => {
    let n = 0;
    while (!reading.done) {
      await t.service.append('replayed', [{ type: 'new', actor: `n${n++}` }]);
      await new Promise((r) => setTimeout(r, 2));
    }
    return n;
  })();
}

describe('a subscription replaying from a cursor', () => {
  it('pulled slowly while events keep coming: every event once, in order, no slow-consumer failure', async () => {
    const sub = await t.service.subscribe('event', 'replayed', { after: encodeCursor('event', 0, 'replayed') });
    const reading = { done: false };
    const appending = appendWhile(reading);
    const seen: number[] = [];
    try {
      while (seen.length < 1_199 + 30) {
        const r = await sub.next();
        if (r.done) break;
        seen.push(r.value.index);
        if (seen.length % 100 === 0) await new Promise((r) => setTimeout(r, 25));
      }
    } finally {
      reading.done = true;
    }
    const appended = await appending;
    // The rest of what was appended arrives live.
    while (seen.length < 1_199 + appended) seen.push(((await sub.next()).value as { index: number }).index);
    await sub.return?.();
    expect(seen).toEqual(Array.from({ length: 1_199 + appended }, (_, i) => i + 1));
  });

  it('piped with a client that reads slowly: the same', async () => {
    const sub = await t.service.subscribe('event', 'replayed', { after: encodeCursor('event', 0, 'replayed') });
    const head = (await t.service.head('replayed')).treeSize;
    const reading = { done: false };
    const appending = appendWhile(reading);
    const seen: number[] = [];
    let caughtUp!: () => void;
    const enough = new Promise<void>((r) => (caughtUp = r));
    let slow = 0;
    const piped = sub.pipe!(
      (m) => {
        seen.push(m.index);
        if (seen.length >= head - 1 + 30) caughtUp();
        return true;
      },
      () => (++slow % 100 === 0 ? new Promise((r) => setTimeout(r, 25)) : undefined),
    );
    try {
      // A subscription cut off ends its pipe: fail then rather than wait for events that will not come.
      await Promise.race([enough, piped.then(() => Promise.reject(new Error(`the subscription ended after ${seen.length} events`)))]);
    } finally {
      reading.done = true;
    }
    const appended = await appending;
    while (seen.length < head - 1 + appended) await new Promise((r) => setTimeout(r, 10));
    await sub.return?.();
    await piped;
    expect(seen).toEqual(Array.from({ length: head - 1 + appended }, (_, i) => i + 1));
  });
});
