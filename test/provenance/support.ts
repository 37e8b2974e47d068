import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ProvenanceService } from '../../src/provenance/service.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

export interface TestProvenance extends TestLedger {
  prov: ProvenanceService;
}

export async function openTestProvenance(options: { poolSize?: number } = {}): Promise<TestProvenance> {
  const t = await openTestLedger({}, { produceBlocks: false, ...options });
  return { ...t, prov: new ProvenanceService(t.db.dataSource, t.service) };
}

export const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export { codeOf } from '../support/codes.js';

/** The test database, with the statements sent through it counted. */
export function countedDataSource(t: TestProvenance): { db: DataSource; seen: { statements: number } } {
  const seen = { statements: 0 };
  const db = {
    query: (sql: string, params: unknown[]) => {
      seen.statements++;
      return t.db.dataSource.query(sql, params);
    },
  } as unknown as DataSource;
  return { db, seen };
}
