/**
 * What the ledger reports about itself. The ledger does not know who listens (Prometheus,
 * logs, tests); the server plugs an implementation in.
 */
export interface LedgerMetrics {
  appended(ledger: string, events: number, seconds: number): void;
  refused(ledger: string, code: string): void;
  committed(ledger: string, batchEvents: number): void;
  /** A batch was sequenced while the one before it was written: its work `used`, or `redone` because the head moved. */
  lookedAhead(ledger: string, outcome: 'used' | 'redone'): void;
  proof(kind: 'inclusion' | 'consistency', seconds: number): void;
  mined(ledger: string, difficulty: number, seconds: number): void;
}

export const NO_METRICS: LedgerMetrics = {
  appended() {},
  refused() {},
  committed() {},
  lookedAhead() {},
  proof() {},
  mined() {},
};
