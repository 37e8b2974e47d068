import type { DataSource } from 'typeorm';
import type { RuleEvent } from './runtime.js';
import type { AggregateCall } from './checker.js';

/**
 * Aggregates over the window of ledger time before a trigger, counting only events up to the
 * trigger itself: the same trigger gives the same values live, after a restart and on replay.
 * Copies synced from peers are left out, as they are as triggers: they are the peers' history,
 * not this node's state.
 */
export async function computeAggregates(ds: DataSource, ledgerId: number, trigger: RuleEvent, calls: AggregateCall[]): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  for (const call of calls) {
    const windowS = call.args[call.args.length - 1] as number;
    const since = trigger.hlc.physicalMs - windowS * 1000;
    const base = [ledgerId, call.args[0], trigger.index, since];
    const from = `FROM events WHERE ledger_id = $1 AND type = $2 AND idx <= $3 AND hlc_ms > $4 AND origin IS NULL`;
    let row: { v: string | number | null };
    if (call.fn === 'count') {
      [row] = await ds.query(`SELECT count(*) AS v ${from}`, base);
    } else if (call.fn === 'ratio') {
      [row] = await ds.query(`SELECT coalesce(count(*) FILTER (WHERE result = $5)::float8 / nullif(count(*), 0), 0) AS v ${from}`, [...base, call.args[1]]);
    } else {
      // Summed exactly (numeric), so no order of rows gives another total and no total overflows;
      // a sum past float8 reads as Infinity. As json, not jsonb: jsonb refuses a \u0000 anywhere in a payload.
      [row] = await ds.query(
        `SELECT coalesce(sum(CASE WHEN json_typeof(p->$5) = 'number' THEN (p->>$5)::numeric END), 0)::text AS v
           FROM (SELECT convert_from(canonical, 'UTF8')::json->'payload' AS p ${from}) w`,
        [...base, call.args[1]],
      );
    }
    values.set(call.key, Number(row!.v ?? 0));
  }
  return values;
}
