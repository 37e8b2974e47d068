import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiKeyService } from '../../src/auth/api-keys.js';
import { watchKeys } from '../../src/server/ws-key-watch.js';
import type { WsExtra } from '../../src/server/ws-transport.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const KEY = 'cpk_watched-key-0123456789abcdefghijklmnopqr';

describe('the keys of open WebSockets', () => {
  it('are asked of the database every 5 s, past the key cache, once per key; a revoked one closes its sockets with 4403', async () => {
    const asked: Array<number | undefined> = [];
    let revoked = false;
    const keys = {
      authenticate: async (_key: string, maxAgeMs?: number) => {
        asked.push(maxAgeMs);
        return revoked ? null : { kind: 'api-key', account: 'monitor', role: 'reader', keyId: 'k1' };
      },
      onRevoke: () => () => {},
    } as unknown as ApiKeyService;
    const closed: number[] = [];
    const socket = () => ({ close: (code: number) => void closed.push(code) }) as unknown as WsExtra;
    const sockets = [socket(), socket(), socket()];
    const watch = watchKeys(keys, () => `Bearer ${KEY}`);
    sockets.forEach(watch.add);
    await vi.advanceTimersByTimeAsync(5_000);
    // Three sockets, one key: one look-up, and none of it from the cache.
    expect(asked).toEqual([0]);
    expect(closed).toEqual([]);
    revoked = true;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(asked).toEqual([0, 0]);
    expect(closed).toEqual([4403, 4403, 4403]);
    watch.stop();
  });

  it('are checked at once when this process revokes a key, not at the next tick', async () => {
    let revoked = false;
    let onRevoke!: () => void;
    const keys = {
      authenticate: async () => (revoked ? null : { kind: 'api-key', account: 'monitor', role: 'reader', keyId: 'k1' }),
      onRevoke: (listener: () => void) => {
        onRevoke = listener;
        return () => {};
      },
    } as unknown as ApiKeyService;
    const closed: number[] = [];
    const watch = watchKeys(keys, () => `Bearer ${KEY}`);
    watch.add({ close: (code: number) => void closed.push(code) } as unknown as WsExtra);
    revoked = true;
    onRevoke();
    await vi.advanceTimersByTimeAsync(0);
    expect(closed).toEqual([4403]);
    watch.stop();
  });
});
