import type { Command } from 'commander';
import type { PeerSyncResult, PeerView, SyncService, SyncStatusView } from '../sync/sync-service.js';
import { shown } from './printable.js';
import { graphqlClient } from './graphql-client.js';
import { serverOf, serverOptions, type ServerAddress, type ServerOptions } from './server-options.js';
import { orNull, type Shape } from './shape.js';

/** Where `chainproof sync` reads and acts: the database (this node's sync state) or a running server. */
interface SyncSource {
  status(): Promise<SyncStatusView>;
  now(peer?: string): Promise<PeerSyncResult[]>;
}

const PEER_FIELDS =
  'url origin verifierKey source status flagged flaggedReason position lastSyncAt lastSuccessAt lastError errorCount eventsReceived eventsSent latencyMs lastCheckpointSize lastCheckpointHeight nextSyncAt';

const PEER: Shape = {
  url: 'string', origin: 'string', verifierKey: 'string', source: 'string', status: 'string', flagged: 'boolean', flaggedReason: orNull('string'),
  position: 'number', lastSyncAt: orNull('string'), lastSuccessAt: orNull('string'), lastError: orNull('string'), errorCount: 'number', eventsReceived: 'number', eventsSent: 'number',
  latencyMs: orNull('number'), lastCheckpointSize: orNull('number'), lastCheckpointHeight: orNull('number'), nextSyncAt: orNull('string'),
};
const STATUS: Shape = { running: 'boolean', autoSync: 'boolean', intervalMs: 'number', syncing: 'boolean', peers: [PEER] };
const RESULT: Shape = {
  peer: 'string', ok: 'boolean', error: orNull({ code: 'string', message: 'string' }), received: 'number', skipped: 'number',
  fromPosition: 'number', toPosition: 'number', checkpointSize: 'number', durationMs: 'number',
};

export function remoteSync(server: ServerAddress): SyncSource {
  const call = graphqlClient(server);
  return {
    status: async () =>
      (await call<{ syncStatus: SyncStatusView }>(`{ syncStatus { running autoSync intervalMs syncing peers { ${PEER_FIELDS} } } }`, {}, { syncStatus: STATUS })).syncStatus,
    now: async (peer) =>
      (await call<{ syncNow: PeerSyncResult[] }>(
        `mutation($p: String) { syncNow(peer: $p) { peer ok error { code message } received skipped fromPosition toPosition checkpointSize durationMs } }`,
        { p: peer ?? null },
        { syncNow: [RESULT] },
      )).syncNow,
  };
}

type Table = (head: string[], rows: string[][]) => string;
type WithSync = <T>(fn: (sync: SyncService) => Promise<T>) => Promise<T>;

const when = (d: Date | string | null) => (d === null ? '–' : new Date(d).toISOString().replace('T', ' ').slice(0, 19));

/** `chainproof sync status | peers | now`. A failed sync with any peer exits 3 (`now`). */
export function addSyncCommands(cmd: Command, withSync: WithSync, table: Table): void {
  const sync = cmd.command('sync').description('syndication with peer nodes');
  // `sync now` answers once every peer is caught up, which may take minutes.
  const source = (c: Command) => serverOptions(c, undefined, 600).option('--json', 'print JSON');
  type Opts = ServerOptions & { json?: boolean };
  const run = <T>(o: Opts, fn: (src: SyncSource) => Promise<T>): Promise<T> => {
    const server = serverOf(o);
    return server ? fn(remoteSync(server)) : withSync((s) => fn({ status: () => s.status(), now: (peer) => s.syncNow(peer) }));
  };
  const print = (o: Opts, value: unknown, text: () => string): void => void process.stdout.write(o.json ? `${JSON.stringify(value, null, 2)}\n` : text());
  const peersTable = (peers: PeerView[]) =>
    table(
      ['origin', 'status', 'position', 'received', 'sent', 'checkpoint', 'latency', 'last sync', 'last success', 'errors', 'url'],
      peers.map((p) => [
        p.origin,
        p.flagged ? 'FLAGGED' : p.status.toUpperCase(),
        String(p.position),
        String(p.eventsReceived),
        String(p.eventsSent),
        p.lastCheckpointSize === null ? '–' : `${p.lastCheckpointSize}@${p.lastCheckpointHeight ?? '?'}`,
        p.latencyMs === null ? '–' : `${p.latencyMs} ms`,
        when(p.lastSyncAt),
        when(p.lastSuccessAt),
        String(p.errorCount),
        p.url,
      ]),
    );

  source(sync.command('status').description('the sync service and each peer')).action(async (o: Opts) => {
    const s = await run(o, (src) => src.status());
    print(o, s, () => {
      const head = `${o.url ? `sync ${s.running ? 'running' : 'not running'}` : 'sync state in the database'}; auto-sync ${s.autoSync ? `every ${s.intervalMs} ms` : 'off'}${s.syncing ? '; syncing now' : ''}\n`;
      // A peer's error text is what the peer answered: shown escaped, never as terminal control codes.
      const problems = s.peers.filter((p) => p.lastError !== null).map((p) => `${shown(p.origin)}: ${shown(p.flaggedReason ?? p.lastError ?? '')}\n`);
      return head + (s.peers.length === 0 ? 'no peers\n' : peersTable(s.peers)) + problems.join('');
    });
  });

  source(sync.command('peers').description('configured peers and their keys')).action(async (o: Opts) => {
    const { peers } = await run(o, (src) => src.status());
    print(o, peers, () => table(['origin', 'source', 'url', 'verifier key'], peers.map((p) => [p.origin, p.source, p.url, p.verifierKey])));
  });

  source(sync.command('now [peer]').description('sync with one peer (URL or origin) or all, and wait')).action(async (peer: string | undefined, o: Opts) => {
    const results = await run(o, (src) => src.now(peer));
    print(o, results, () =>
      table(
        ['peer', 'result', 'received', 'skipped', 'position', 'checkpoint', 'ms'],
        results.map((r) => [r.peer, r.ok ? 'ok' : `${r.error!.code}: ${r.error!.message}`, String(r.received), String(r.skipped), `${r.fromPosition}→${r.toPosition}`, String(r.checkpointSize), String(r.durationMs)]),
      ),
    );
    if (results.some((r) => !r.ok)) process.exitCode = 3;
  });
}
