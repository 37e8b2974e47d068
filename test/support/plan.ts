import type { DataSource } from 'typeorm';

export interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows of `relation` the statement's plan read, kept or filtered out, over all loops. */
export function rowsRead(plan: PlanNode, relation: string): number {
  const own = plan['Relation Name'] === relation ? ((plan['Actual Rows'] ?? 0) + (plan['Rows Removed by Filter'] ?? 0)) * (plan['Actual Loops'] ?? 1) : 0;
  return own + (plan.Plans ?? []).reduce((n, p) => n + rowsRead(p, relation), 0);
}

/**
 * Something with `query` that runs each statement under EXPLAIN ANALYZE first and keeps the
 * last plan, then runs it for real: what a read does to the tables, not how long it takes.
 */
export function explaining(ds: DataSource) {
  const seen: { plan?: PlanNode } = {};
  const db = {
    async query(sql: string, params?: unknown[]) {
      const [row] = await ds.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
      const json = row['QUERY PLAN'];
      seen.plan = (typeof json === 'string' ? JSON.parse(json) : json)[0].Plan;
      return ds.query(sql, params);
    },
  };
  return { db, lastPlan: () => seen.plan! };
}
