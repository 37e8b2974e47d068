import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { WebSocketServer } from 'ws';
import { admitWebSockets } from '../../src/server/ws-admission.js';

type Verdict = { ok: boolean; code?: number; headers?: Record<string, string> };

/** Enough of a WebSocketServer for admission: its options and its `connection` event. */
function fakeServer(opts: { maxPerIp: number; wait?: () => number }) {
  const wss = Object.assign(new EventEmitter(), { options: {} as Record<string, unknown> });
  admitWebSockets(wss as unknown as WebSocketServer, { maxPerIp: opts.maxPerIp, rateLimit: opts.wait ?? (() => 0) });
  const verify = wss.options.verifyClient as (info: { req: unknown }, cb: (ok: boolean, code?: number, msg?: string, headers?: Record<string, string>) => void) => void;
  const req = (ip: string) => ({ socket: { remoteAddress: ip } });
  return {
    ask(ip: string): Verdict {
      let verdict: Verdict | undefined;
      verify({ req: req(ip) }, (ok, code, _msg, headers) => (verdict = { ok, code, headers }));
      return verdict!;
    },
    open(ip: string): EventEmitter {
      const socket = new EventEmitter();
      wss.emit('connection', socket, req(ip));
      return socket;
    },
  };
}

describe('WebSocket admission', () => {
  it('admits an address up to its cap of open sockets, refuses the next with 429, and admits again once one closes', () => {
    const server = fakeServer({ maxPerIp: 2 });
    expect(server.ask('10.0.0.1').ok).toBe(true);
    const first = server.open('10.0.0.1');
    expect(server.ask('10.0.0.1').ok).toBe(true);
    server.open('10.0.0.1');
    const full = server.ask('10.0.0.1');
    expect(full).toMatchObject({ ok: false, code: 429 });
    expect(full.headers?.['retry-after']).toBe('5');
    // Another address is not affected.
    expect(server.ask('10.0.0.2').ok).toBe(true);
    first.emit('close');
    expect(server.ask('10.0.0.1').ok).toBe(true);
  });

  it('forgets an address whose sockets have all closed', () => {
    const server = fakeServer({ maxPerIp: 1 });
    for (let i = 0; i < 3; i++) {
      expect(server.ask('10.0.0.1').ok).toBe(true);
      server.open('10.0.0.1').emit('close');
    }
  });

  it('counts the sockets still open after one of several closes', () => {
    const server = fakeServer({ maxPerIp: 2 });
    server.open('10.0.0.1');
    server.open('10.0.0.1').emit('close');
    server.open('10.0.0.1');
    expect(server.ask('10.0.0.1')).toMatchObject({ ok: false, code: 429 });
  });

  it('counts the sockets of one IPv6 /64 together', () => {
    const server = fakeServer({ maxPerIp: 1 });
    server.open('2001:db8:1:2::a');
    expect(server.ask('2001:db8:1:2::b')).toMatchObject({ ok: false, code: 429 });
    expect(server.ask('2001:db8:1:3::a').ok).toBe(true);
  });

  it('refuses a handshake told to wait a single second', () => {
    const server = fakeServer({ maxPerIp: 0, wait: () => 1 });
    expect(server.ask('10.0.0.1')).toMatchObject({ ok: false, code: 429, headers: { 'retry-after': '1' } });
  });

  it('refuses a handshake its address may not make now, telling it how long to wait', () => {
    const server = fakeServer({ maxPerIp: 0, wait: () => 7 });
    expect(server.ask('10.0.0.1')).toMatchObject({ ok: false, code: 429, headers: { 'retry-after': '7' } });
  });
});
