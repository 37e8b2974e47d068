/**
 * What the provenance benchmark loads and reads, shared with `point-reads`, so that its
 * steady-state figures are of the very requests the load run timed.
 */

/** The benchmark's agents: agent-0000, agent-0001, … */
export const agentName = (n: number): string => `agent-${String(n).padStart(4, '0')}`;

const CONTRIBUTIONS = 'contributingAssertions { assertionHash weight assertion { subject value lifecycle confidence } source { locator contentHash } }';

/** One query audit by its queryId. */
export const POINT_QUERY = `query($q: String!) { queryAudits(filter: {queryId: $q}, first: 1) { edges { node { queryId agentId time subject result resultHash eventId ${CONTRIBUTIONS} } } } }`;

/** An agent's last 10 audits as of a time. */
export const TIME_TRAVEL_QUERY = `query($a: String!, $t: DateTimeISO!) { queryAudits(filter: {agent: $a}, last: 10, asOf: {time: $t}) { edges { node { queryId time result ${CONTRIBUTIONS} } } } }`;

/** An agent's trace since a time, up to 1,000 lines. */
export const TRACE = `query($a: String!, $s: DateTimeISO!) { trace(agent: $a, since: $s, first: 1000) { truncated lines { queryId time subject predicate result resultConfidence eventId ${CONTRIBUTIONS} } } }`;

/** The same, of subjects under a glob. */
export const GLOB_TRACE = `query($a: String!, $s: DateTimeISO!) { trace(agent: $a, since: $s, subject: "svc-01*/**", first: 1000) { truncated lines { queryId subject result ${CONTRIBUTIONS} } } }`;
