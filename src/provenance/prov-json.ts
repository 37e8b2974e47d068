import { canonicalExchange } from './hashing.js';
import type { AssertionRecord, QueryAuditRecord, SourceRecord } from './model.js';

/** A W3C PROV-JSON document (https://www.w3.org/submissions/prov-json/). */
export type ProvDocument = Record<string, Record<string, Record<string, unknown>>> & { prefix: Record<string, unknown> };

const iso = (time: Date) => time.toISOString();

/**
 * Free text (attacker-controlled agent names, query ids) as a qualified name's local part:
 * every UTF-8 byte outside letters, digits, `_`, `-` is percent-encoded, which PROV-N allows
 * anywhere in a local name. The text itself stays readable in `prov:label`.
 *
 * @example localName('bot "one"') // 'bot%20%22one%22'
 */
export const localName = (text: string) =>
  Array.from(Buffer.from(text, 'utf8'), (b) => (/[A-Za-z0-9_-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
const qualified = (name: string) => ({ $: name, type: 'prov:QUALIFIED_NAME' });

/**
 * Query audits as PROV: each query run is an activity associated with its agent, which used
 * the contributing assertions (weighted) and generated its result; assertions are entities
 * derived from their sources (and from the assertions they revised) and attributed to the
 * account that recorded them. Every node names the ledger event that backs it.
 */
export function toProvJson(audits: QueryAuditRecord[], origin: string): ProvDocument {
  const prefix = { cp: `urn:chainproof:${encodeURIComponent(origin)}:`, prov: 'http://www.w3.org/ns/prov#', xsd: 'http://www.w3.org/2001/XMLSchema#' };
  const doc = {
    prefix: prefix as Record<string, unknown>,
    agent: {},
    activity: {},
    entity: {},
    used: {},
    wasGeneratedBy: {},
    wasDerivedFrom: {},
    wasAttributedTo: {},
    wasAssociatedWith: {},
  } as ProvDocument;
  /**
   * A relation under an id made of what it relates, not of its place in this page: the pages of
   * one export can be merged, and the same relation on two pages is the same key.
   */
  const relate = (kind: string, of: string, body: Record<string, unknown>) => {
    doc[kind]![`_:${kind}/${of}`] = body;
  };
  const ledgerRef = (r: { eventId: string; eventIndex: number }) => ({ 'cp:eventId': r.eventId, 'cp:leafIndex': r.eventIndex });
  /** One agent per name; a name that both queries and records is both types. */
  const agent = (name: string, type: string) => {
    const id = `cp:agent/${localName(name)}`;
    const known = doc.agent![id] as { 'prov:type': { $: string } | Array<{ $: string }> } | undefined;
    if (!known) doc.agent![id] = { 'prov:type': qualified(type), 'prov:label': name };
    else {
      const types = Array.isArray(known['prov:type']) ? known['prov:type'] : [known['prov:type']];
      if (!types.some((t) => t.$ === type)) known['prov:type'] = [...types, qualified(type)];
    }
    return id;
  };
  const source = (s: SourceRecord) => {
    const id = `cp:source/${s.contentHash}`;
    if (!doc.entity![id]) {
      doc.entity![id] = {
        'prov:type': { $: 'cp:Source', type: 'prov:QUALIFIED_NAME' },
        'prov:location': s.locator,
        'cp:contentHash': s.contentHash,
        ...(s.mediaType ? { 'cp:mediaType': s.mediaType } : {}),
        ...ledgerRef(s),
      };
    }
    return id;
  };
  const assertion = (a: AssertionRecord, src: SourceRecord | null) => {
    const id = `cp:assertion/${a.hash}`;
    if (doc.entity![id]) return id;
    doc.entity![id] = {
      'prov:type': { $: 'cp:Assertion', type: 'prov:QUALIFIED_NAME' },
      'prov:value': canonicalExchange(a.value),
      'cp:subject': a.subject,
      'cp:predicate': a.predicate,
      'cp:lifecycle': a.lifecycle,
      'cp:confidence': a.confidence,
      ...ledgerRef(a),
    };
    // PROV-DM gives an entity its generation time on a generation (the activity is left unnamed).
    relate('wasGeneratedBy', `assertion/${a.hash}`, { 'prov:entity': id, 'prov:time': iso(a.time) });
    relate('wasAttributedTo', `assertion/${a.hash}`, { 'prov:entity': id, 'prov:agent': agent(a.recordedBy, 'prov:Agent') });
    const from = src ? source(src) : `cp:source/${a.sourceHash}`;
    relate('wasDerivedFrom', `assertion/${a.hash}/source`, { 'prov:generatedEntity': id, 'prov:usedEntity': from, 'prov:type': { $: 'prov:PrimarySource', type: 'prov:QUALIFIED_NAME' } });
    if (a.supersedes) {
      relate('wasDerivedFrom', `assertion/${a.hash}/revises`, { 'prov:generatedEntity': id, 'prov:usedEntity': `cp:assertion/${a.supersedes}`, 'prov:type': { $: 'prov:Revision', type: 'prov:QUALIFIED_NAME' } });
    }
    return id;
  };

  for (const q of audits) {
    const activity = `cp:query/${localName(q.queryId)}`;
    doc.activity![activity] = {
      'prov:type': { $: 'cp:Query', type: 'prov:QUALIFIED_NAME' },
      'prov:startTime': iso(q.time),
      'prov:endTime': iso(q.time),
      'cp:subject': q.subject,
      'cp:predicate': q.predicate,
      ...(q.lens ? { 'cp:lens': q.lens } : {}),
      ...(q.lifecycleFilter ? { 'cp:lifecycleFilter': q.lifecycleFilter.join(',') } : {}),
      ...ledgerRef(q),
    };
    relate('wasAssociatedWith', `query/${localName(q.queryId)}`, { 'prov:activity': activity, 'prov:agent': agent(q.agentId, 'prov:SoftwareAgent') });
    // One result per run, even where two runs got equal results: an entity is generated once.
    const result = `cp:result/${localName(q.queryId)}`;
    doc.entity![result] = {
      'prov:type': qualified('cp:QueryResult'),
      'prov:value': canonicalExchange(q.result),
      'cp:resultHash': q.resultHash,
      ...(q.resultConfidence === null ? {} : { 'cp:confidence': q.resultConfidence }),
    };
    relate('wasGeneratedBy', `result/${localName(q.queryId)}`, { 'prov:entity': result, 'prov:activity': activity, 'prov:time': iso(q.time) });
    for (const c of q.contributingAssertions) {
      relate('used', `query/${localName(q.queryId)}/${c.assertionHash}`, { 'prov:activity': activity, 'prov:entity': assertion(c.assertion, c.source), 'cp:weight': c.weight });
    }
  }
  return doc;
}
