import type { LedgerEvent } from './events/event.js';
import type { EventFilter } from './ledger-service.js';

/** The in-memory twin of the SQL filter in LedgerService.events, for live subscriptions. */
export function matchesFilter(e: LedgerEvent, f: EventFilter): boolean {
  return (
    (!f.types?.length || f.types.includes(e.type)) &&
    (f.actor === undefined || e.actor === f.actor) &&
    (f.author === undefined || e.author === f.author) &&
    (f.resource === undefined || e.resource === f.resource) &&
    (f.subsystem === undefined || e.subsystem === f.subsystem) &&
    (f.result === undefined || e.result === f.result) &&
    (f.correlationId === undefined || e.correlationId === f.correlationId) &&
    (f.fromMs === undefined || e.hlc.physicalMs >= f.fromMs) &&
    (f.toMs === undefined || e.hlc.physicalMs <= f.toMs)
  );
}
