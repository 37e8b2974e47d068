import { ChainproofError } from '../errors.js';
import type { LedgerRow } from '../ledger/entities/index.js';
import type { AppendInput, LedgerEvent } from '../ledger/events/event.js';
import type { LedgerService, ReplicatedEvent } from '../ledger/ledger-service.js';
import { rootFromRange, treeHasher, verifyConsistency } from '../ledger/merkle/index.js';
import { checkpointHashAlg, parseCheckpoint, verifyNote, type ParsedCheckpoint } from '../ledger/note/index.js';
import { BOOKKEEPING_TYPES, SYNC_SUBSYSTEM, type SyncPayloads, type SyncProgress } from './events.js';
import { AnswerTooLarge, type PeerClient, type PeerLeaves } from './peer-client.js';
import { SYNC_LEDGER } from './peer.js';
import type { PeerRow, SyncStore } from './sync-store.js';

export interface PullResult extends SyncProgress {
  /** Whether the sync brought anything besides other nodes' sync bookkeeping. */
  substantive: boolean;
  /** Set with the SyncStarted: what tells the sync's own branch from concurrent writes (see leftBranches). */
  branching?: Branching;
}

/**
 * The sync's SyncStarted (`lead`) is parented on the tips the ledger had just before it
 * (`tipsBefore`); the copies that follow name their own parents (`continued`).
 */
export interface Branching {
  lead: string;
  tipsBefore: string[];
  continued: Set<string>;
}

export interface PullDeps {
  ledger: LedgerService;
  store: SyncStore;
  client: PeerClient;
  /** Leaves asked for per request. */
  pageSize: number;
  /** Waits until the next request to the peer is allowed (the rate bound). */
  pace(): Promise<void>;
  /** The SyncStarted event, written in the transaction of the first page worth recording. */
  syncStarted(peer: PeerRow, payload: SyncPayloads['SyncStarted']): AppendInput;
}

/** A peer showed a history that contradicts one it signed before. Not retried; the peer is flagged. */
export class PeerFlagged extends ChainproofError {
  constructor(
    readonly reason: string,
    readonly note: string,
    /** The checkpoint it contradicts, as this node stored it. */
    readonly previousNote: string | null,
  ) {
    super('PEER_MISBEHAVED', reason);
  }
}

/**
 * The peer was pinned to another key while this pull ran (re-pinned by configuration, possibly in
 * another process sharing the database). The pull stops; the page it was appending is rolled back,
 * since its leaves were checked under a key no longer trusted, and the next pull starts under the
 * new key from the position the re-pin reset.
 */
export class PeerRepinned extends ChainproofError {
  constructor(url: string) {
    super('CONFLICT', `the verifier key pinned for ${url} changed during this sync; nothing checked under the old key is kept, and the next sync starts over under the new one`);
  }
}

/** Times a pull checks the peer's checkpoint again after other pullers of the same peer stored theirs first. */
const CHECKPOINT_ATTEMPTS = 3;

/**
 * One sync from one peer: checks its newest checkpoint against the pinned key and, by a
 * consistency proof, against the last checkpoint seen from it; then pulls the leaves past this
 * node's position in pages, each proven into that checkpoint by a range proof before any of it
 * is appended. Leaves come in the peer's log order, so every parent arrives before its children
 * (a parent the peer's log does not hold earlier is a bad event, and fails the page). Each page
 * lands whole with the position that follows it, so an interrupted sync resumes where it stopped.
 * The next page is fetched while one is checked and appended.
 *
 * A checkpoint is stored only in place of the very one it was checked against: processes sharing
 * the database may pull the same peer at once, and a peer may show each of them another history.
 * Whoever finds another checkpoint stored meanwhile checks the peer again against that one.
 *
 * Every write holds only while the pin `peer` names is current (see PeerRepinned).
 */
export async function pullFrom(peer: PeerRow, d: PullDeps): Promise<PullResult> {
  const local = await d.ledger.ledger(SYNC_LEDGER);
  const hasher = treeHasher(local.hashAlg);
  let checked: Checked | null = null;
  for (let attempt = 1; ; attempt++) {
    checked = await checkPeer(peer, local, d);
    if (checked === null || (await d.store.sawCheckpoint(peer, checked.size, checked.root, checked.note, checked.latencyMs))) break;
    const again = await d.store.peer(peer.url);
    if (!again) throw new ChainproofError('NOT_FOUND', `no peer ${peer.url}`);
    // A pull holds to the pin it started under: the one its caller knows it by, and may flag it under.
    // Asked before giving up, so a re-pin on the last attempt is not taken for a failure.
    if (again.pin !== peer.pin) throw new PeerRepinned(peer.url);
    if (attempt === CHECKPOINT_ATTEMPTS) {
      throw new ChainproofError('CONFLICT', `other pulls of ${peer.url} kept storing newer checkpoints; this one tries again later`);
    }
    peer = again;
  }
  const result: PullResult = { fromPosition: peer.position, toPosition: peer.position, checkpointSize: peer.checkpointSize ?? 0, checkpointRoot: peer.checkpointRoot?.toString('hex') ?? '', received: 0, skipped: 0, substantive: false };
  if (checked === null) return result;
  const { size, root } = checked;
  result.checkpointSize = size;
  result.checkpointRoot = root.toString('hex');

  let position = peer.position;
  let pageSize = d.pageSize;
  // A page of large events may make an answer over the client's bound: asked again in halves, down to one leaf.
  const fetchPage = async (start: number): Promise<{ end: number; page: PeerLeaves }> => {
    for (;;) {
      const end = Math.min(start + pageSize, size);
      try {
        await d.pace();
        return { end, page: await d.client.leaves(start, end, size) };
      } catch (e) {
        if (!(e instanceof AnswerTooLarge) || end - start === 1) throw e;
        pageSize = Math.max(1, Math.floor((end - start) / 2));
      }
    }
  };
  const prefetch = (start: number) => {
    const p = fetchPage(start);
    p.catch(() => {}); // awaited below, or abandoned when an earlier page fails
    return p;
  };
  let next = position < size ? prefetch(position) : undefined;
  while (next) {
    const { end, page } = await next;
    next = end < size ? prefetch(end) : undefined;
    const ids = page.leaves.map((l) => hasher.leafHash(l.canonical));
    const rebuilt = rootFromRange(hasher, position, ids, size, page.proof);
    if (!rebuilt?.equals(root)) {
      throw new ChainproofError('PEER_MISBEHAVED', `leaves [${position}, ${end}) with their range proof do not rebuild the root of its checkpoint of size ${size}`);
    }
    // A page with new events besides other nodes' sync records makes this sync one worth recording.
    let lead: AppendInput | undefined;
    if (!result.substantive && (await bringsNews(d.ledger, page.leaves, ids))) {
      result.substantive = true;
      lead = d.syncStarted(peer, { peer: peer.url, origin: peer.origin, fromPosition: result.fromPosition, checkpointSize: size });
    }
    // Copies the ledger holds already are skipped under its lock: one look-up of the page's ids.
    let appended = 0;
    let written: readonly LedgerEvent[] = [];
    try {
      await d.ledger.appendReplicated(SYNC_LEDGER, page.leaves, {
        lead,
        projection: async (tx, events) => {
          written = events;
          appended = events.filter((e) => e.origin !== local.origin).length;
          // Re-pinned meanwhile: throwing rolls back the page's events with the position.
          if (!(await d.store.advance(peer, end, appended, tx))) throw new PeerRepinned(peer.url);
        },
      });
    } catch (e) {
      throw inPeerLog(e, position, end);
    }
    const leadEvent = lead && written.find((e) => e.origin === local.origin);
    if (leadEvent) result.branching = { lead: leadEvent.id, tipsBefore: leadEvent.parents, continued: new Set() };
    for (const e of written) if (e.origin !== local.origin) for (const p of e.parents) result.branching?.continued.add(p);
    // Nothing new in the page (or another process appended it first): the position still moves.
    if (appended === 0 && !lead && !(await d.store.advance(peer, end, 0))) throw new PeerRepinned(peer.url);
    result.received += appended;
    result.skipped += page.leaves.length - appended;
    position = result.toPosition = end;
  }
  return result;
}

interface Checked {
  size: number;
  root: Buffer;
  note: string;
  latencyMs: number;
}

/** The peer's newest checkpoint, checked against the one stored in `peer`; null while its log is empty. */
async function checkPeer(peer: PeerRow, local: LedgerRow, d: PullDeps): Promise<Checked | null> {
  await d.pace();
  const started = performance.now();
  const note = await d.client.checkpoint();
  const latencyMs = Math.round(performance.now() - started);
  if (note === null) {
    // An empty log where a checkpoint was signed before: lost or swapped history, but unsigned, so
    // no evidence to flag the peer on. The pull fails, and keeps failing in its status, until the
    // peer's log comes back or the operator re-pins it.
    if (peer.checkpointSize !== null) {
      throw new ChainproofError('PEER_MISBEHAVED', `it answers that its log is empty, but it signed a checkpoint of size ${peer.checkpointSize} before`);
    }
    return null;
  }
  const cp = checkedCheckpoint(note, peer, local);
  const size = cp.treeSize;
  const root = Buffer.from(cp.rootHash);
  if (peer.checkpointSize !== null && peer.checkpointRoot !== null) {
    const [s0, r0] = [peer.checkpointSize, peer.checkpointRoot];
    const flag = (reason: string) => new PeerFlagged(reason, note, peer.checkpointNote);
    if (size < s0) throw flag(`its checkpoint of size ${size} is smaller than the one of size ${s0} it signed before`);
    if (size === s0 && !root.equals(r0)) throw flag(`it signed two different roots for size ${size}`);
    if (size > s0) {
      await d.pace();
      const proof = await d.client.consistency(s0, size);
      if (!verifyConsistency(local.hashAlg, s0, size, r0, root, proof)) {
        throw flag(`its checkpoint of size ${size} is not consistent with the one of size ${s0} it signed before`);
      }
    }
  }
  return { size, root, note, latencyMs };
}

/** The peer's checkpoint, signed by its pinned key, for the ledger this node expects, in a hash the local ledger shares. */
function checkedCheckpoint(note: string, peer: PeerRow, local: LedgerRow): ParsedCheckpoint {
  let text: string;
  try {
    text = verifyNote(note, [peer.verifierKey]).text;
  } catch (e) {
    throw new ChainproofError('PEER_MISBEHAVED', `its checkpoint is not signed by the pinned key: ${(e as Error).message}`, { cause: e });
  }
  let cp: ParsedCheckpoint;
  try {
    cp = parseCheckpoint(text);
  } catch (e) {
    throw new ChainproofError('PEER_MISBEHAVED', `its checkpoint does not parse: ${(e as Error).message}`, { cause: e });
  }
  if (cp.origin !== peer.origin) throw new ChainproofError('PEER_MISBEHAVED', `its checkpoint is for ${cp.origin}, not ${peer.origin}`);
  const alg = checkpointHashAlg(cp.extensions) ?? 'more than one';
  if (alg !== local.hashAlg) {
    throw new ChainproofError('CONFIG_INVALID', `the peer's ledger hashes with ${alg} and this one with ${local.hashAlg}: ids would differ`);
  }
  return cp;
}

/**
 * A refusal of a page, told by where it stands in the peer's log: the append numbers the events
 * of the page it was given, and an operator looks the event up by its leaf in the peer's log.
 */
function inPeerLog(e: unknown, start: number, end: number): unknown {
  if (!(e instanceof ChainproofError) || e instanceof PeerRepinned) return e;
  const i = e.details?.index;
  if (typeof i !== 'number') return new ChainproofError(e.code, `leaves [${start}, ${end}) of the peer's log: ${e.message}`, { cause: e, details: e.details });
  const inPage = `event ${i}: `;
  const reason = e.message.startsWith(inPage) ? e.message.slice(inPage.length) : e.message;
  return new ChainproofError(e.code, `leaf ${start + i} of the peer's log: ${reason}`, { cause: e, details: { ...e.details, leafIndex: start + i } });
}

/**
 * Whether a page holds events besides sync records that the ledger lacks. Looked up before the
 * append's lock: another process appending the same copies meanwhile only makes this sync
 * recorded as one that brought them.
 */
async function bringsNews(ledger: LedgerService, leaves: readonly ReplicatedEvent[], ids: readonly Buffer[]): Promise<boolean> {
  const content = ids.filter((_, i) => !isBookkeeping(leaves[i]!));
  if (content.length === 0) return false;
  return (await ledger.held(SYNC_LEDGER, content)).size < content.length;
}

function isBookkeeping(l: ReplicatedEvent): boolean {
  try {
    const env = JSON.parse(l.canonical.toString('utf8')) as { type?: unknown; subsystem?: unknown };
    return env.subsystem === SYNC_SUBSYSTEM && BOOKKEEPING_TYPES.has(env.type as string);
  } catch {
    return false; // not JSON: the append refuses it
  }
}
