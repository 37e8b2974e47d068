import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { LedgerBus } from '../ledger/bus.js';
import type { LedgerMetrics } from '../ledger/metrics.js';
import type { Divergence } from '../witness/cosignatures.js';
import { sharedAnswer } from './shared-answer.js';

/** Prometheus metrics, served at /metrics. */
export function prometheusMetrics(dataSource: DataSource, bus: () => LedgerBus | undefined, divergences: () => Divergence[] = () => []) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'chainproof_process_' });
  const lookedAhead = new Counter({
    name: 'chainproof_batches_sequenced_ahead_total',
    help: 'Batches sequenced while the batch before was written; outcome=redone when the head had moved (another process appended, or the batch before rolled back)',
    labelNames: ['ledger', 'outcome'],
    registers: [registry],
  });
  const appended = new Counter({ name: 'chainproof_events_appended_total', help: 'Events committed', labelNames: ['ledger'], registers: [registry] });
  const refused = new Counter({
    name: 'chainproof_events_refused_total',
    help: 'Append calls refused (nothing appended), by error code',
    labelNames: ['ledger', 'code'],
    registers: [registry],
  });
  const appendSeconds = new Histogram({
    name: 'chainproof_append_duration_seconds',
    help: 'From an append call to its commit',
    labelNames: ['ledger'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const batch = new Histogram({
    name: 'chainproof_commit_batch_events',
    help: 'Events per group-commit transaction',
    labelNames: ['ledger'],
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    registers: [registry],
  });
  const proofSeconds = new Histogram({
    name: 'chainproof_proof_duration_seconds',
    help: 'Building an inclusion or consistency proof from the stored tree',
    labelNames: ['kind'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [registry],
  });
  const miningSeconds = new Histogram({
    name: 'chainproof_block_mining_seconds',
    help: 'Proof-of-work search per block',
    labelNames: ['ledger'],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  });
  const difficulty = new Gauge({ name: 'chainproof_block_difficulty', help: 'Difficulty of the last mined block (leading zero bits)', labelNames: ['ledger'], registers: [registry] });
  new Gauge({
    name: 'chainproof_subscribers',
    help: 'Live subscriptions in this process',
    registers: [registry],
    collect() {
      this.set(bus()?.subscriberCount() ?? 0);
    },
  });
  new Gauge({
    name: 'chainproof_checkpoint_age_seconds',
    help: 'Seconds since the latest checkpoint of each ledger',
    labelNames: ['ledger'],
    registers: [registry],
    async collect() {
      const rows: Array<{ name: string; ts: string | null }> = await dataSource.query(
        `SELECT l.name, (SELECT max(timestamp_ms) FROM checkpoints c WHERE c.ledger_id = l.id) AS ts FROM ledgers l`,
      );
      this.reset();
      for (const r of rows) if (r.ts !== null) this.set({ ledger: r.name }, (Date.now() - Number(r.ts)) / 1000);
    },
  });

  new Gauge({
    name: 'chainproof_validator_diverged',
    help: 'Present (1) while a validator holds a tree of the ledger that this log does not: kind=behind, it cosigned a larger tree (restored from an older backup?); kind=fork, it refuses this log as inconsistent',
    labelNames: ['ledger', 'validator', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of divergences()) this.set({ ledger: d.ledger, validator: d.validator, kind: d.kind }, 1);
    },
  });

  // Per peer this node pulls from, by URL (credentials are refused in peer URLs, so none shows here).
  // The gauges of one scrape are collected one after another: they share one read of the peers.
  const peerRows = sharedAnswer(1000, (): Promise<PeerGaugeRow[]> =>
    dataSource.query(
      `SELECT url, position, checkpoint_size, flagged_reason IS NOT NULL AS flagged,
              extract(epoch FROM now() - COALESCE(last_success_at, created_at)) AS unsynced_s
         FROM sync_peers`,
    ),
  );
  const perPeer = (name: string, help: string, value: (r: PeerGaugeRow) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['peer'],
      registers: [registry],
      async collect() {
        const rows = await peerRows();
        this.reset();
        for (const r of rows) {
          const v = value(r);
          if (v !== null) this.set({ peer: r.url }, v);
        }
      },
    });
  perPeer(
    'chainproof_sync_peer_success_age_seconds',
    "Seconds since a sync with the peer last succeeded (since it was added, if none has): growing, the node is falling behind the peer's log",
    (r) => Number(r.unsynced_s),
  );
  perPeer(
    'chainproof_sync_peer_behind_leaves',
    "Leaves of the peer's last checked checkpoint this node has not taken yet",
    (r) => (r.checkpoint_size === null ? null : Math.max(0, Number(r.checkpoint_size) - Number(r.position))),
  );
  perPeer('chainproof_sync_peer_flagged', 'The peer contradicted a checkpoint it signed before and is no longer pulled (1)', (r) => (r.flagged ? 1 : 0));

  const subscriptionExecutions = new Counter({
    name: 'chainproof_subscription_executions_total',
    help: 'Subscription results executed (shared by every subscriber of the same event and selection)',
    registers: [registry],
  });

  const metrics: LedgerMetrics = {
    appended: (ledger, events, seconds) => {
      appended.inc({ ledger }, events);
      appendSeconds.observe({ ledger }, seconds);
    },
    refused: (ledger, code) => refused.inc({ ledger, code }),
    committed: (ledger, events) => batch.observe({ ledger }, events),
    lookedAhead: (ledger, outcome) => lookedAhead.inc({ ledger, outcome }),
    proof: (kind, seconds) => proofSeconds.observe({ kind }, seconds),
    mined: (ledger, d, seconds) => {
      miningSeconds.observe({ ledger }, seconds);
      difficulty.set({ ledger }, d);
    },
  };
  return { registry, metrics, subscriptionExecuted: () => subscriptionExecutions.inc() };
}

interface PeerGaugeRow {
  url: string;
  position: string;
  checkpoint_size: string | null;
  flagged: boolean;
  unsynced_s: string;
}
