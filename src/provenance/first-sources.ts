import type { DataSource } from 'typeorm';
import { anyOf, binaryArray } from '../db/binary-array.js';
import { prepared } from '../db/driver-pool.js';
import type { SourceRecord } from './model.js';
import { RecentCache } from './recent-cache.js';
import { SOURCE_COLUMNS, sourceFromRow } from './reads.js';

/**
 * Per ledger: the 25,000–50,000 most recently used sources (≈ 800 bytes each with their hex
 * strings, measured; at most ≈ 40 MB a ledger), more than a trace's few thousand.
 */
const DEFAULT_CAPACITY = 50_000;

/**
 * The first recording of each content hash (a source is named by its content, whatever
 * locators came later), remembered across reads. A first recording never changes once it is
 * committed: any later recording of the same content has a later index. So a long trace, whose
 * lines cite thousands of assertions of a few thousand sources, looks each source up once per
 * process rather than once per trace. Kept in a RecentCache.
 *
 * @example
 *   const sources = new FirstSources(dataSource);
 *   const byHash = await sources.of(ledgerId, ['ab12…', 'cd34…']); // one statement for the misses
 */
export class FirstSources {
  private readonly cache: RecentCache<SourceRecord>;

  constructor(
    private readonly db: DataSource,
    capacity = DEFAULT_CAPACITY,
  ) {
    this.cache = new RecentCache(capacity);
  }

  /** Each content hash that has a recording, with its first one. Shared records: frozen. */
  async of(ledgerId: number, contentHashes: readonly string[]): Promise<Map<string, SourceRecord>> {
    const { found, missing } = this.cache.lookup(ledgerId, contentHashes);
    if (missing.length === 0) return found;
    const rows = await prepared<Record<string, unknown>>(
      this.db,
      `SELECT DISTINCT ON (s.content_hash) ${SOURCE_COLUMNS('s')} FROM prov_sources s
        WHERE s.ledger_id = $1 AND s.content_hash ${anyOf('$2', 'bytea')} ORDER BY s.content_hash, s.event_idx`,
      [ledgerId, binaryArray('hex', missing)],
    );
    for (const r of rows) {
      const source = Object.freeze(sourceFromRow(r)!);
      found.set(source.contentHash, source);
      this.cache.set(ledgerId, source.contentHash, source);
    }
    return found;
  }
}
