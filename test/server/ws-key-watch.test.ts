import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiKeyService } from '../../src/auth/api-keys.js';
import { watchKeys } from '../../src/server/ws-key-watch.js';
import type { WsExtra } from '../../src/server/ws-transport.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

const KEY = 'cpk_watched-key-0123456789abcdefghijklmnopqr';
/** The `ws` socket of a connection, by its ready state. */
const OPEN = { readyState: 1, OPEN: 1 };
const CLOSED = { readyState: 3, OPEN: 1 };
/** An open connection whose close codes are pushed to `closed`. */
const openSocket = (closed: number[]) => ({ socket: OPEN, close: (code: number) => void closed.push(code) }) as unknown as WsExtra;

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
    const sockets = [openSocket(closed), openSocket(closed), openSocket(closed)];
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
    watch.add(openSocket(closed));
    revoked = true;
    onRevoke();
    await vi.advanceTimersByTimeAsync(0);
    expect(closed).toEqual([4403]);
    watch.stop();
  });

  it('leaves out a socket that closed while its key was being looked up: its close, which removes sockets, has passed', async () => {
    // graphql-ws runs onClose when the socket closes, even while onConnect still awaits the key's
    // look-up; a socket added after that would be kept, and checked every 5 s, for good.
    const asked: Array<number | undefined> = [];
    const keys = {
      authenticate: async (_key: string, maxAgeMs?: number) => {
        asked.push(maxAgeMs);
        return { kind: 'api-key', account: 'monitor', role: 'reader', keyId: 'k1' };
      },
      onRevoke: () => () => {},
    } as unknown as ApiKeyService;
    const watch = watchKeys(keys, () => `Bearer ${KEY}`);
    const gone = { socket: CLOSED, close: () => {} } as unknown as WsExtra;
    watch.add(gone);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(asked).toEqual([]);
    expect(watch.admits(gone)).toBe(true);
    watch.stop();
  });

  it('close a socket whose key is found revoked when it starts an operation, and refuse the operation', async () => {
    const keys = { authenticate: async () => null, onRevoke: () => () => {} } as unknown as ApiKeyService;
    const closed: number[] = [];
    const extra = openSocket(closed);
    const watch = watchKeys(keys, () => `Bearer ${KEY}`);
    watch.add(extra);
    expect(await watch.admits(extra)).toBe(false);
    expect(closed).toEqual([4403]);
    watch.stop();
  });

  it('keep a socket open when the database does not answer: that is not a revocation', async () => {
    const keys = {
      authenticate: async () => {
        throw new Error('connection terminated');
      },
      onRevoke: () => () => {},
    } as unknown as ApiKeyService;
    const closed: number[] = [];
    const extra = openSocket(closed);
    const watch = watchKeys(keys, () => `Bearer ${KEY}`);
    watch.add(extra);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(await watch.admits(extra)).toBe(true);
    expect(closed).toEqual([]);
    watch.stop();
  });

  it('stop being checked once removed, or once the watch stops', async () => {
    let onRevoke!: () => void;
    let unsubscribed = false;
    const keys = {
      authenticate: async () => null,
      onRevoke: (listener: () => void) => {
        onRevoke = listener;
        return () => void (unsubscribed = true);
      },
    } as unknown as ApiKeyService;
    const closed: number[] = [];
    const extra = openSocket(closed);
    const watch = watchKeys(keys, () => `Bearer ${KEY}`);
    watch.add(extra);
    watch.remove(extra);
    onRevoke();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(closed).toEqual([]);
    expect(watch.admits(extra)).toBe(true);
    watch.stop();
    expect(unsubscribed).toBe(true);
  });
});
