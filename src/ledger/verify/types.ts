export type IssueKind =
  | 'EVENT_HASH_MISMATCH'
  | 'EVENT_FIELD_MISMATCH'
  | 'EVENT_MALFORMED'
  | 'EVENT_SIGNATURE'
  | 'SEQUENCE_GAP'
  | 'UNSEQUENCED_EVENT'
  | 'TREE_MISMATCH'
  | 'MISSING_PARENT'
  | 'PARENT_ORDER'
  | 'HLC_ORDER'
  | 'BLOCK_LINK'
  | 'BLOCK_HASH'
  | 'BLOCK_POW'
  | 'BLOCK_TIME'
  | 'BLOCK_DIFFICULTY'
  | 'BLOCK_RANGE'
  | 'BLOCK_EVENTS_ROOT'
  | 'BLOCK_TREE_ROOT'
  | 'CHECKPOINT_MALFORMED'
  | 'CHECKPOINT_SIGNATURE'
  | 'CHECKPOINT_ROOT'
  | 'CHECKPOINT_INCONSISTENT'
  | 'HEAD_MISMATCH';

/** One finding. `index` names an event (leaf) index, `blockHeight` a block, `checkpointId` a checkpoint row. */
export interface VerificationIssue {
  kind: IssueKind;
  index?: number;
  blockHeight?: number;
  checkpointId?: number;
  message: string;
}

export interface VerificationReport {
  ledger: string;
  mode: 'QUICK' | 'FULL';
  status: 'VALID' | 'INVALID';
  /** The head's tree size in the snapshot that was verified. */
  treeSize: number;
  eventsVerified: number;
  blocksVerified: number;
  checkpointsVerified: number;
  /** At most `maxIssues`; verification stops once that many are found. */
  issues: VerificationIssue[];
  durationMs: number;
  /** Whether checkpoint and server signatures were checked (a verifier key was given). */
  signaturesChecked: boolean;
}

export interface VerifyOptions {
  full: boolean;
  /**
   * C2SP verifier keys (`name+hash+base64key`): each checkpoint must be signed by one of them (the
   * current key and those it replaced, after a rotation); unchecked when none is given.
   */
  verifierKeys?: readonly string[];
  onProgress?: (done: number, total: number) => void;
  /** Stop after this many issues (default 100). */
  maxIssues?: number;
  /** Full mode: events per query (default 10,000). */
  pageSize?: number;
  /**
   * Full mode: check each event's contents in a worker thread, alongside the main thread's
   * tree and parent checks. Default: for ledgers of 50,000 events or more, when running from
   * the compiled build (the worker is compiled JavaScript); otherwise in this thread.
   */
  contentWorker?: boolean;
}
