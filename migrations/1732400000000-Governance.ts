import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Governance projections: a fold of the governance ledger's token, delegation, proposal and
 * vote events, each row keeping the leaf index of the event that wrote it. The `*_history`
 * tables hold every value an account ever had, keyed by that index, so voting power "as of a
 * proposal's snapshot" is one index look-up. Amounts are exact integers (numeric(78,0)).
 */
export class Governance1732400000000 implements MigrationInterface {
  name = 'Governance1732400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE gov_accounts (
        account text PRIMARY KEY,
        balance numeric(78,0) NOT NULL DEFAULT 0 CHECK (balance >= 0),
        delegate text,
        voting_power numeric(78,0) NOT NULL DEFAULT 0 CHECK (voting_power >= 0)
      )`);
    // Balance changes: one row per (account, event), with the event's kind and delta for `history`.
    await q.query(`
      CREATE TABLE gov_balance_history (
        account text NOT NULL,
        idx bigint NOT NULL,
        balance numeric(78,0) NOT NULL,
        delta numeric(78,0) NOT NULL,
        kind text NOT NULL,
        event_id bytea NOT NULL,
        PRIMARY KEY (account, idx)
      )`);
    await q.query(`
      CREATE TABLE gov_delegate_history (
        account text NOT NULL,
        idx bigint NOT NULL,
        delegate text,
        PRIMARY KEY (account, idx)
      )`);
    await q.query(`
      CREATE TABLE gov_power_history (
        account text NOT NULL,
        idx bigint NOT NULL,
        power numeric(78,0) NOT NULL,
        PRIMARY KEY (account, idx)
      )`);
    await q.query(`
      CREATE TABLE gov_supply_history (
        idx bigint PRIMARY KEY,
        supply numeric(78,0) NOT NULL
      )`);
    await q.query(`
      CREATE TABLE gov_proposals (
        id text PRIMARY KEY,
        idx bigint NOT NULL UNIQUE,
        proposer text NOT NULL,
        title text NOT NULL,
        description text NOT NULL,
        voting_type text NOT NULL CHECK (voting_type IN ('WEIGHTED', 'QUADRATIC')),
        created_ms bigint NOT NULL,
        vote_start_ms bigint NOT NULL,
        vote_end_ms bigint NOT NULL,
        quorum_ppm integer NOT NULL,
        threshold_ppm integer NOT NULL,
        timelock_s bigint NOT NULL,
        grace_s bigint NOT NULL,
        actions jsonb NOT NULL,
        snapshot bigint,
        supply_at_snapshot numeric(78,0),
        for_weight numeric(78,0) NOT NULL DEFAULT 0,
        against_weight numeric(78,0) NOT NULL DEFAULT 0,
        abstain_weight numeric(78,0) NOT NULL DEFAULT 0,
        for_power numeric(78,0) NOT NULL DEFAULT 0,
        against_power numeric(78,0) NOT NULL DEFAULT 0,
        abstain_power numeric(78,0) NOT NULL DEFAULT 0,
        voters integer NOT NULL DEFAULT 0,
        canceled_idx bigint,
        queued_ms bigint,
        queued_idx bigint,
        executed_idx bigint
      )`);
    await q.query(`CREATE INDEX gov_proposals_proposer ON gov_proposals (proposer, idx)`);
    await q.query(`
      CREATE TABLE gov_votes (
        proposal_id text NOT NULL REFERENCES gov_proposals(id),
        voter text NOT NULL,
        choice text NOT NULL CHECK (choice IN ('FOR', 'AGAINST', 'ABSTAIN')),
        power numeric(78,0) NOT NULL,
        weight numeric(78,0) NOT NULL,
        delegate_at_snapshot text,
        own_balance numeric(78,0) NOT NULL,
        reason text,
        signature text,
        idx bigint NOT NULL,
        event_id bytea NOT NULL,
        PRIMARY KEY (proposal_id, voter)
      )`);
    await q.query(`CREATE INDEX gov_votes_delegate ON gov_votes (proposal_id, delegate_at_snapshot) WHERE delegate_at_snapshot IS NOT NULL`);
    await q.query(`CREATE INDEX gov_votes_order ON gov_votes (proposal_id, idx)`);
    // Governance-owned parameters of a ledger (the block reward, once a proposal set it); the rest live on `ledgers`.
    await q.query(`
      CREATE TABLE gov_ledger_rewards (
        ledger text PRIMARY KEY,
        reward numeric(78,0) NOT NULL CHECK (reward >= 0)
      )`);
    // Where block rewards resume: a delivery cursor, not state (the mints themselves are events).
    await q.query(`
      CREATE TABLE gov_reward_cursor (
        ledger text PRIMARY KEY,
        rewarded_height bigint NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['gov_reward_cursor', 'gov_ledger_rewards', 'gov_votes', 'gov_proposals', 'gov_supply_history', 'gov_power_history', 'gov_delegate_history', 'gov_balance_history', 'gov_accounts']) {
      await q.query(`DROP TABLE ${t}`);
    }
  }
}
