import { EventEmitter } from 'node:events';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import { ChainproofError, isChainproofError } from '../errors.js';
import { BusSubscription, type PushSubscription } from '../ledger/bus.js';
import type { AppendInput } from '../ledger/events/event.js';
import type { LedgerService } from '../ledger/ledger-service.js';
import { parseCheckpoint, openNote } from '../ledger/note/index.js';
import { BOOKKEEPING_TYPES, SYNC_ACTOR, SYNC_SUBSYSTEM, type SyncEventType, type SyncPayloads } from './events.js';
import { PeerClient } from './peer-client.js';
import { peerSpec, SYNC_LEDGER, type PeerSpec } from './peer.js';
import { pullFrom, PeerFlagged, PeerRepinned, type Branching, type PullResult } from './pull.js';
import { SyncStore, type PeerRow } from './sync-store.js';

/** Sync records looked through, at most, to find the branches a sync left (see leftBranches). */
const MAX_MERGES_SEEN_THROUGH = 64;

export interface SyncSettings {
  peers: Array<{ url: string; vkey: string }>;
  /** Between automatic syncs with each peer. */
  intervalMs: number;
  /** Automatic syncs on a timer; `syncNow` works either way. */
  enabled: boolean;
  /** The API key this node presents to its peers, when they do not serve reads publicly. */
  apiKey?: string;
  /** Leaves per request, and requests per second to one peer. */
  pageSize?: number;
  maxRequestsPerSecond?: number;
  requestTimeoutMs?: number;
}

/** A peer as `syncStatus` shows it: its row, less the pin and the checkpoint it was checked against, plus what runs here. */
export interface PeerView extends Omit<PeerRow, 'pin' | 'checkpointSize' | 'checkpointRoot' | 'checkpointNote'> {
  flagged: boolean;
  lastCheckpointSize: number | null;
  lastCheckpointHeight: number | null;
  nextSyncAt: Date | null;
}

export interface SyncStatusView {
  running: boolean;
  autoSync: boolean;
  intervalMs: number;
  syncing: boolean;
  peers: PeerView[];
}

export interface PeerSyncResult {
  peer: string;
  ok: boolean;
  error: { code: string; message: string } | null;
  received: number;
  skipped: number;
  fromPosition: number;
  toPosition: number;
  checkpointSize: number;
  durationMs: number;
}

const BACKOFF_BASE_MS = 1_000;

interface Runtime {
  running?: Promise<PeerSyncResult>;
  timer?: NodeJS.Timeout;
  nextAt?: number;
  consecutiveFailures: number;
  lastRequestAt: number;
}

/** How often counts of leaves served to peers are written. */
const SENT_FLUSH_MS = 5_000;
/** Peer names counted between writes; a caller making up names past this is not counted. */
const MAX_SENT_ORIGINS = 64;

/**
 * Keeps this node's ledger holding what its peers hold: each peer is pulled on a timer (and on
 * `syncNow`), one sync per peer at a time, retried with exponential backoff after a failure.
 * Both directions flow because each node pulls from the other. A peer that contradicts a
 * checkpoint it signed before is flagged, recorded in the ledger, and no longer pulled.
 */
export class SyncService {
  private readonly store: SyncStore;
  private readonly runtime = new Map<string, Runtime>();
  private readonly updates = new EventEmitter();
  private running = false;
  private readonly pageSize: number;
  private readonly minGapMs: number;
  private readonly unsent = new Map<string, number>();
  private sentTimer: NodeJS.Timeout | undefined;

  constructor(
    dataSource: DataSource,
    private readonly ledger: LedgerService,
    private readonly settings: SyncSettings,
    private readonly log: Logger,
  ) {
    this.store = new SyncStore(dataSource);
    this.pageSize = settings.pageSize ?? 1000;
    this.minGapMs = 1000 / (settings.maxRequestsPerSecond ?? 50);
    this.updates.setMaxListeners(0);
    // From construction, not start(): the API listens before sync starts, and a writer must never
    // append look-alike sync bookkeeping in between.
    this.ledger.reserveSubsystem(SYNC_SUBSYSTEM);
  }

  async start(): Promise<void> {
    for (const p of this.settings.peers) await this.store.upsertConfigured(peerSpec(p.url, p.vkey));
    this.running = true;
    if (this.settings.enabled) for (const p of await this.store.peers()) this.schedule(p.url, 0);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const r of this.runtime.values()) clearTimeout(r.timer);
    await Promise.allSettled([...this.runtime.values()].map((r) => r.running));
    await this.flushSent();
  }

  async status(): Promise<SyncStatusView> {
    const peers = await this.store.peers();
    return {
      running: this.running,
      autoSync: this.settings.enabled,
      intervalMs: this.settings.intervalMs,
      syncing: [...this.runtime.values()].some((r) => r.running),
      peers: peers.map((p) => this.view(p)),
    };
  }

  /** Syncs with one peer (by URL or origin) or all of them now; resolves with each one's outcome. */
  async syncNow(peer?: string): Promise<PeerSyncResult[]> {
    const peers = await this.store.peers();
    const chosen = peer === undefined ? peers : peers.filter((p) => p.url === peer || p.origin === peer);
    if (peer !== undefined && chosen.length === 0) throw new ChainproofError('NOT_FOUND', `no peer ${peer}`);
    return Promise.all(chosen.map((p) => this.syncPeer(p.url)));
  }

  async createPeer(url: string, verifierKey: string): Promise<PeerView> {
    const spec = peerSpec(url, verifierKey);
    if (verifierKey === this.ledger.verifierKey()) throw new ChainproofError('BAD_USER_INPUT', 'that is this node\'s own verifier key: a node does not pull from itself');
    const p = await this.store.create(spec);
    this.publish(p);
    this.schedule(p.url, 0);
    return this.view(p);
  }

  /** Peer status changes as they happen. */
  subscribe(): PushSubscription<PeerView> {
    return new BusSubscription<PeerView>(
      (listener) => {
        this.updates.on('peer', listener);
        return () => this.updates.off('peer', listener);
      },
      () => true,
      1000,
    );
  }

  /**
   * Counts leaves served to a peer that named itself when pulling. The name is any caller's claim
   * (reads may be anonymous): counts are kept here and written every SENT_FLUSH_MS, for at most
   * MAX_SENT_ORIGINS names between writes, not an UPDATE per read. Never fails the request.
   */
  served(origin: string | undefined, n: number): void {
    if (origin === undefined || n === 0) return;
    if (!this.unsent.has(origin) && this.unsent.size >= MAX_SENT_ORIGINS) return;
    this.unsent.set(origin, (this.unsent.get(origin) ?? 0) + n);
    this.sentTimer ??= setTimeout(() => void this.flushSent(), SENT_FLUSH_MS).unref();
  }

  /** Writes the counts `served` kept. */
  async flushSent(): Promise<void> {
    clearTimeout(this.sentTimer);
    this.sentTimer = undefined;
    const counts = [...this.unsent];
    this.unsent.clear();
    for (const [origin, n] of counts) {
      await this.store.sent(origin, n).catch((err) => this.log.warn({ err }, 'could not count events sent to a peer'));
    }
  }

  /** The peer's next sync after `delayMs`, while the service runs and syncs run on their own; else none. */
  private schedule(url: string, delayMs: number): void {
    const r = this.runtimeOf(url);
    clearTimeout(r.timer);
    if (!this.running || !this.settings.enabled) return;
    r.nextAt = Date.now() + delayMs;
    r.timer = setTimeout(() => {
      r.timer = undefined;
      void this.syncPeer(url);
    }, delayMs);
    r.timer.unref();
  }

  private runtimeOf(url: string): Runtime {
    let r = this.runtime.get(url);
    if (!r) this.runtime.set(url, (r = { consecutiveFailures: 0, lastRequestAt: 0 }));
    return r;
  }

  /** One sync at a time per peer: a request while one runs gets that one's outcome. */
  private syncPeer(url: string): Promise<PeerSyncResult> {
    const r = this.runtimeOf(url);
    r.running ??= this.runSync(url, r).finally(() => (r.running = undefined));
    return r.running;
  }

  private async runSync(url: string, r: Runtime): Promise<PeerSyncResult> {
    const started = performance.now();
    let peer: PeerRow | null = null;
    const outcome = (result: Partial<PullResult>, error: ChainproofError | null): PeerSyncResult => ({
      peer: url,
      ok: error === null,
      error: error && { code: error.code, message: error.message },
      received: result.received ?? 0,
      skipped: result.skipped ?? 0,
      fromPosition: result.fromPosition ?? peer?.position ?? 0,
      toPosition: result.toPosition ?? peer?.position ?? 0,
      checkpointSize: result.checkpointSize ?? peer?.checkpointSize ?? 0,
      durationMs: Math.round(performance.now() - started),
    });
    // Bookkeeping that fails (the database away, as it often is when a sync fails) is logged, never
    // thrown: a timed sync has no caller to take it, and the next attempt must still be scheduled.
    const unrecorded = (err: unknown) => this.log.warn({ peer: url, err }, 'could not record the outcome of a sync');
    let origin: string;
    try {
      peer = await this.store.peer(url);
      origin = (await this.ledger.ledger(SYNC_LEDGER)).origin;
    } catch (e) {
      const error = asChainproofError(e, url);
      await this.retryLater({ url }, r, error);
      return outcome({}, error);
    }
    if (!peer) throw new ChainproofError('NOT_FOUND', `no peer ${url}`);
    if (peer.flaggedReason !== null) {
      return outcome({}, new ChainproofError('PEER_MISBEHAVED', `peer ${url} is flagged: ${peer.flaggedReason}`));
    }
    this.publish(peer, true);
    const client = new PeerClient(url, origin, this.settings.apiKey, this.settings.requestTimeoutMs ?? 30_000);
    try {
      const result = await pullFrom(peer, {
        ledger: this.ledger,
        store: this.store,
        client,
        pageSize: this.pageSize,
        pace: () => this.pace(r),
        syncStarted: (p, payload) => this.input('SyncStarted', p, payload),
      });
      if (result.substantive) {
        const { substantive: _, branching, ...progress } = result;
        const tips = await this.ledger.tips(SYNC_LEDGER);
        if (await this.leftBranches(tips, branching)) await this.record('ConflictDetected', peer, { peer: url, tips });
        await this.record('SyncCompleted', peer, { peer: url, origin: peer.origin, ...progress, durationMs: Math.round(performance.now() - started) });
      }
      await this.store.succeeded(peer);
      r.consecutiveFailures = 0;
      this.schedule(url, this.settings.intervalMs);
      return outcome(result, null);
    } catch (e) {
      const error = asChainproofError(e, url);
      if (e instanceof PeerRepinned) {
        // Not the peer's failure, and nothing of this sync is kept: the next one, under the new key, soon
        // (not at once: a timer firing while this sync still runs would get this one's outcome).
        this.log.info({ peer: url }, 'peer re-pinned to another key during a sync; syncing again under the new key');
        this.schedule(url, Math.min(this.settings.intervalMs, BACKOFF_BASE_MS));
      } else if (e instanceof PeerFlagged) {
        // Flagged only while the pin the key that signed both checkpoints came with is current.
        const flagged = await this.store.flag(peer, error.message, e.reason).catch((err) => (unrecorded(err), true));
        if (flagged) {
          this.log.error({ peer: url, reason: e.reason }, 'peer contradicts a checkpoint it signed before; flagged and no longer pulled');
          await this.record('PeerFlagged', peer, { peer: url, origin: peer.origin, reason: e.reason, checkpoint: e.note, previousCheckpoint: e.previousNote })
            .catch((err) => this.log.warn({ err }, 'could not record the flagged peer'));
        } else {
          this.log.warn({ peer: url, reason: e.reason }, 'peer contradicted a checkpoint signed by a key no longer pinned; not flagged');
          this.schedule(url, Math.min(this.settings.intervalMs, BACKOFF_BASE_MS));
        }
      } else {
        await this.retryLater(peer, r, error);
      }
      return outcome({}, error);
    } finally {
      const after = await this.store.peer(url).catch(() => null);
      if (after) this.publish(after, false);
    }
  }

  /**
   * Whether a sync left concurrent branches. Its own SyncStarted is one by construction, parented
   * on the tips before the sync beside the copies, so it stands for those tips, less the ones the
   * copies build on. Among those, sync records — this node's, or copies of another's — are seen
   * through, since they hold nothing anyone wrote: a SyncCompleted, ConflictDetected or
   * PeerFlagged merged the tips of its day, which stand in its place; a SyncStarted was judged by
   * its own sync. Counting the tips alone had every sync that brought events record a conflict.
   */
  private async leftBranches(tips: string[], b: Branching | undefined): Promise<boolean> {
    if (!b) return tips.length > 1;
    const heads = new Set(tips.filter((t) => t !== b.lead));
    const seen = new Set<string>();
    const behind = [...b.tipsBefore];
    // Bounded: merges are few between two syncs; what lies past the bound is taken as a branch.
    for (let id = behind.shift(); id !== undefined; id = behind.shift()) {
      if (seen.has(id) || b.continued.has(id) || heads.has(id)) continue;
      seen.add(id);
      const e = seen.size <= MAX_MERGES_SEEN_THROUGH ? await this.ledger.event(SYNC_LEDGER, id) : null;
      const syncRecord = e !== null && e.subsystem === SYNC_SUBSYSTEM && BOOKKEEPING_TYPES.has(e.type);
      if (!syncRecord) heads.add(id);
      else if (e.type !== 'SyncStarted') behind.push(...e.parents);
    }
    return heads.size > 1;
  }

  /** After a failed attempt: the next one with exponential backoff (scheduled first, whatever happens to the record of this one). */
  private async retryLater(synced: Pick<PeerRow, 'url'> & { pin?: number }, r: Runtime, error: ChainproofError): Promise<void> {
    const { url } = synced;
    this.log.warn({ peer: url, code: error.code, err: error.message }, 'sync failed; retrying with backoff');
    r.consecutiveFailures++;
    const backoff = Math.min(this.settings.intervalMs, BACKOFF_BASE_MS * 2 ** Math.min(r.consecutiveFailures - 1, 20));
    this.schedule(url, backoff);
    await this.store
      .failed(synced, error.code === 'PEER_UNAVAILABLE' ? 'disconnected' : 'error', `${error.code}: ${error.message}`)
      .catch((err) => this.log.warn({ peer: url, err }, 'could not record the outcome of a sync'));
  }

  /** Spaces requests to one peer at least 1/maxRequestsPerSecond apart. */
  private async pace(r: Runtime): Promise<void> {
    const wait = r.lastRequestAt + this.minGapMs - performance.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    r.lastRequestAt = performance.now();
  }

  private input<T extends SyncEventType>(type: T, peer: PeerRow, payload: SyncPayloads[T]): AppendInput {
    return { type, actor: SYNC_ACTOR, subsystem: SYNC_SUBSYSTEM, resource: `peer/${peer.origin}`, payload };
  }

  private async record<T extends SyncEventType>(type: T, peer: PeerRow, payload: SyncPayloads[T]): Promise<void> {
    await this.ledger.append(SYNC_LEDGER, [this.input(type, peer, payload)], { asServer: true });
  }

  private publish(p: PeerRow, syncing?: boolean): void {
    this.updates.emit('peer', this.view(p, syncing));
  }

  /** `syncing` overrides whether a sync of the peer is under way (default: whether one runs here). */
  private view(p: PeerRow, syncing = Boolean(this.runtime.get(p.url)?.running)): PeerView {
    const r = this.runtime.get(p.url);
    const { pin: _pin, checkpointSize, checkpointRoot: _root, checkpointNote, ...row } = p;
    return {
      ...row,
      status: syncing ? 'syncing' : p.status,
      flagged: p.flaggedReason !== null,
      lastCheckpointSize: checkpointSize,
      lastCheckpointHeight: blockHeightOf(checkpointNote),
      nextSyncAt: r?.timer && r.nextAt !== undefined ? new Date(r.nextAt) : null,
    };
  }
}

function asChainproofError(e: unknown, url: string): ChainproofError {
  return isChainproofError(e) ? e : new ChainproofError('INTERNAL', `sync with ${url} failed: ${(e as Error).message}`, { cause: e });
}

function blockHeightOf(note: string | null): number | null {
  if (note === null) return null;
  try {
    const ext = parseCheckpoint(openNote(note).text).extensions.find((e) => e.startsWith('block '));
    return ext ? Number(ext.split(' ')[1]) : null;
  } catch {
    return null;
  }
}

export type { PeerSpec };
