/**
 * Every failure a caller can cause or must handle carries a stable string code.
 * The GraphQL layer copies `code` into `extensions.code`; the CLI maps it to an exit code.
 */
export type ChainproofErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'RESULT_TOO_LARGE'
  | 'BATCH_TOO_LARGE'
  | 'BAD_SIGNATURE'
  | 'UNKNOWN_PARENT'
  | 'HLC_OUT_OF_SKEW'
  | 'HLC_NOT_AFTER_PARENT'
  | 'UNKNOWN_LEDGER'
  | 'PROOF_OUT_OF_RANGE'
  | 'SIGNING_KEY_MISSING'
  | 'SIGNING_KEY_MISMATCH'
  | 'CHECKPOINT_TAMPERED'
  | 'VERIFIER_KEY_MISSING'
  | 'NOTHING_TO_CHECKPOINT'
  | 'CONFIG_INVALID'
  | 'UNAVAILABLE'
  | 'INSUFFICIENT_BALANCE'
  | 'NO_VOTING_POWER'
  | 'ALREADY_VOTED'
  | 'VOTING_CLOSED'
  | 'PROPOSAL_STATE'
  | 'BELOW_PROPOSAL_THRESHOLD'
  | 'TOO_MANY_PROPOSALS'
  | 'TIMELOCK_PENDING'
  | 'NOT_SUPPORTED'
  | 'BAD_EVENT'
  | 'PEER_MISBEHAVED'
  | 'PEER_UNAVAILABLE'
  | 'INTERNAL';

export class ChainproofError extends Error {
  constructor(
    readonly code: ChainproofErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ChainproofError';
    this.details = options?.details;
  }
  readonly details?: Record<string, unknown>;
}

export const isChainproofError = (e: unknown): e is ChainproofError => e instanceof ChainproofError;
