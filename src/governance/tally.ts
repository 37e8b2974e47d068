/** A proposal's votes so far, by choice, in voting power. */
export interface Tally {
  for: string;
  against: string;
  abstain: string;
  forPower: bigint;
  againstPower: bigint;
  abstainPower: bigint;
  voters: number;
  quorumReached: boolean;
  /** FOR + ABSTAIN power needed (rounded up), once the snapshot exists. */
  quorumRequired: bigint | null;
}

/** A tally with its amounts as decimal strings, as GraphQL and the CLI show it. */
export function tallyText(t: Tally) {
  return {
    ...t,
    forPower: t.forPower.toString(),
    againstPower: t.againstPower.toString(),
    abstainPower: t.abstainPower.toString(),
    quorumRequired: t.quorumRequired?.toString() ?? null,
  };
}
