/** Events the sync service writes in the ledger's own name (subsystem `sync`, server-signed). */
export const SYNC_SUBSYSTEM = 'sync';
export const SYNC_ACTOR = 'chainproof/sync';

/** How far one pull took a peer's log, and what it brought. */
export interface SyncProgress {
  fromPosition: number;
  toPosition: number;
  checkpointSize: number;
  /** Hex root of that checkpoint ('' when the peer has none yet). */
  checkpointRoot: string;
  /** Events appended to the local ledger. */
  received: number;
  /** Leaves the local ledger already held (it had them from another peer, or wrote them). */
  skipped: number;
}

export interface SyncPayloads {
  SyncStarted: { peer: string; origin: string; fromPosition: number; checkpointSize: number };
  SyncCompleted: SyncProgress & { peer: string; origin: string; durationMs: number };
  /** Written when a sync left concurrent branches; as a local event with default parents it merges them. */
  ConflictDetected: { peer: string; tips: string[] };
  /** A peer showed a history inconsistent with one it signed before: evidence for its operators. */
  PeerFlagged: { peer: string; origin: string; reason: string; checkpoint: string; previousCheckpoint: string | null };
}
export type SyncEventType = keyof SyncPayloads;

/**
 * Sync's own bookkeeping. A sync that brought only these writes nothing itself, or every
 * sync would give its peers something new to pull and two nodes would never fall quiet.
 */
export const BOOKKEEPING_TYPES: ReadonlySet<string> = new Set<SyncEventType>(['SyncStarted', 'SyncCompleted', 'ConflictDetected', 'PeerFlagged']);
