/**
 * What the ledger reports about itself. The ledger does not know who listens (Prometheus,
 * logs, tests); the server plugs an implementation in.
 */
export interface LedgerMetrics {
  appended(ledger: string, events: number, seconds: number): void;
  refused(ledger: string, code: string): void;
  committed(ledger: string, batchEvents: number): void;
  proof(kind: 'inclusion' | 'consistency', seconds: number): void;
  mined(ledger: string, difficulty: number, seconds: number): void;
}

export const NO_METRICS: LedgerMetrics = {
  appended() {},
  refused() {},
  committed() {},
  proof() {},
  mined() {},
};
