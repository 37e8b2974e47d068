import type { EntityManager } from 'typeorm';
import { ChainproofError } from '../errors.js';
import type { LedgerEvent } from '../ledger/events/event.js';
import type { GovernancePayloads } from './events.js';

export const TOKEN_EVENT_TYPES = new Set(['TokensMinted', 'TokensBurned', 'TokensTransferred', 'DelegateChanged']);

interface AccountState {
  balance: bigint;
  delegate: string | null;
  power: bigint;
}

/**
 * Folds a run of token and delegation events in memory and writes the result set-wise: a
 * thousand-event airdrop costs a handful of statements, not thousands. One event is just a
 * run of one, so live appends, batches and replay all take this one path.
 *
 * Voting power: an account's own balance counts for itself unless it delegates, in which case
 * it counts for its delegate (one level: delegated power is not delegated onward).
 */
export class TokenFold {
  private readonly accounts = new Map<string, AccountState>();
  private readonly touched = new Set<string>();
  private readonly balanceRows = new Map<string, { account: string; idx: number; balance: bigint; delta: bigint; kind: string; eventId: Buffer }>();
  private readonly delegateRows: Array<{ account: string; idx: number; delegate: string | null }> = [];
  private readonly powerRows = new Map<string, { account: string; idx: number; power: bigint }>();
  private readonly supplyRows: Array<{ idx: number; supply: bigint }> = [];
  private supply = 0n;

  /** Reads the state of every account the events touch, their delegates, and the supply. */
  static async load(tx: EntityManager, events: readonly LedgerEvent[]): Promise<TokenFold> {
    const fold = new TokenFold();
    const names = new Set<string>();
    for (const e of events) {
      const p = e.payload as Record<string, string | null>;
      for (const k of ['to', 'from', 'account', 'delegate'] as const) if (typeof p[k] === 'string') names.add(p[k]!);
    }
    let wanted = [...names];
    while (wanted.length > 0) {
      const rows: Array<{ account: string; balance: string; delegate: string | null; voting_power: string }> = await tx.query(
        `SELECT account, balance, delegate, voting_power FROM gov_accounts WHERE account = ANY($1::text[])`,
        [wanted],
      );
      for (const r of rows) fold.accounts.set(r.account, { balance: BigInt(r.balance), delegate: r.delegate, power: BigInt(r.voting_power) });
      for (const w of wanted) if (!fold.accounts.has(w)) fold.accounts.set(w, { balance: 0n, delegate: null, power: 0n });
      // A balance change moves its delegate's power too, so delegates must be loaded as well.
      wanted = rows.map((r) => r.delegate).filter((d): d is string => d !== null && !fold.accounts.has(d));
    }
    if (events.some((e) => e.type === 'TokensMinted' || e.type === 'TokensBurned')) {
      const [last] = await tx.query(`SELECT supply FROM gov_supply_history ORDER BY idx DESC LIMIT 1`);
      fold.supply = BigInt(last?.supply ?? 0);
    }
    return fold;
  }

  apply(e: LedgerEvent): void {
    switch (e.type) {
      case 'TokensMinted': {
        const m = e.payload as GovernancePayloads['TokensMinted'];
        this.changeBalance(m.to, BigInt(m.amount), e, 'mint');
        return this.changeSupply(BigInt(m.amount), e.index);
      }
      case 'TokensBurned': {
        const b = e.payload as GovernancePayloads['TokensBurned'];
        this.changeBalance(b.from, -BigInt(b.amount), e, 'burn');
        return this.changeSupply(-BigInt(b.amount), e.index);
      }
      case 'TokensTransferred': {
        const t = e.payload as GovernancePayloads['TokensTransferred'];
        this.changeBalance(t.from, -BigInt(t.amount), e, 'transfer-out');
        return this.changeBalance(t.to, BigInt(t.amount), e, 'transfer-in');
      }
      case 'DelegateChanged':
        return this.delegate(e.payload as GovernancePayloads['DelegateChanged'], e.index);
    }
  }

  private state(account: string): AccountState {
    let s = this.accounts.get(account);
    if (!s) this.accounts.set(account, (s = { balance: 0n, delegate: null, power: 0n }));
    this.touched.add(account);
    return s;
  }

  private changeBalance(account: string, delta: bigint, e: LedgerEvent, kind: string): void {
    const s = this.state(account);
    const balance = s.balance + delta;
    if (balance < 0n) throw new ChainproofError('INSUFFICIENT_BALANCE', `${account} holds ${s.balance} tokens; ${-delta} are needed`);
    s.balance = balance;
    const key = `${account}\u0000${e.index}`;
    const row = this.balanceRows.get(key);
    if (row) {
      row.balance = balance;
      row.delta += delta;
    } else {
      this.balanceRows.set(key, { account, idx: e.index, balance, delta, kind, eventId: Buffer.from(e.id, 'hex') });
    }
    this.changePower(s.delegate ?? account, delta, e.index);
  }

  private changePower(account: string, delta: bigint, idx: number): void {
    if (delta === 0n) return;
    const s = this.state(account);
    s.power += delta;
    this.powerRows.set(`${account}\u0000${idx}`, { account, idx, power: s.power });
  }

  private changeSupply(delta: bigint, idx: number): void {
    this.supply += delta;
    this.supplyRows.push({ idx, supply: this.supply });
  }

  private delegate(d: GovernancePayloads['DelegateChanged'], idx: number): void {
    const next = d.delegate === d.account ? null : d.delegate;
    const s = this.state(d.account);
    const previous = s.delegate;
    if (previous === next) throw new ChainproofError('CONFLICT', next ? `${d.account} already delegates to ${next}` : `${d.account} does not delegate`);
    s.delegate = next;
    this.delegateRows.push({ account: d.account, idx, delegate: next });
    this.changePower(previous ?? d.account, -s.balance, idx);
    this.changePower(next ?? d.account, s.balance, idx);
  }

  async flush(tx: EntityManager): Promise<void> {
    const touched = [...this.touched].map((a) => [a, this.accounts.get(a)!] as const);
    if (touched.length > 0) {
      await tx.query(
        `INSERT INTO gov_accounts (account, balance, delegate, voting_power)
         SELECT * FROM unnest($1::text[], $2::numeric[], $3::text[], $4::numeric[])
         ON CONFLICT (account) DO UPDATE SET balance = EXCLUDED.balance, delegate = EXCLUDED.delegate, voting_power = EXCLUDED.voting_power`,
        [touched.map(([a]) => a), touched.map(([, s]) => s.balance.toString()), touched.map(([, s]) => s.delegate), touched.map(([, s]) => s.power.toString())],
      );
    }
    const b = [...this.balanceRows.values()];
    if (b.length > 0) {
      await tx.query(
        `INSERT INTO gov_balance_history (account, idx, balance, delta, kind, event_id)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::numeric[], $4::numeric[], $5::text[], $6::bytea[])`,
        [b.map((r) => r.account), b.map((r) => r.idx), b.map((r) => r.balance.toString()), b.map((r) => r.delta.toString()), b.map((r) => r.kind), b.map((r) => r.eventId)],
      );
    }
    if (this.delegateRows.length > 0) {
      const d = this.delegateRows;
      await tx.query(
        `INSERT INTO gov_delegate_history (account, idx, delegate) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])`,
        [d.map((r) => r.account), d.map((r) => r.idx), d.map((r) => r.delegate)],
      );
    }
    const p = [...this.powerRows.values()];
    if (p.length > 0) {
      await tx.query(
        `INSERT INTO gov_power_history (account, idx, power) SELECT * FROM unnest($1::text[], $2::bigint[], $3::numeric[])`,
        [p.map((r) => r.account), p.map((r) => r.idx), p.map((r) => r.power.toString())],
      );
    }
    if (this.supplyRows.length > 0) {
      const s = this.supplyRows;
      await tx.query(`INSERT INTO gov_supply_history (idx, supply) SELECT * FROM unnest($1::bigint[], $2::numeric[])`, [s.map((r) => r.idx), s.map((r) => r.supply.toString())]);
    }
  }
}
