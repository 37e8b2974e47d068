import type { IssueKind, VerificationIssue } from './types.js';

/** Thrown (and caught by verifyLedger) once the issue budget is spent, to stop all work at once. */
export class IssueLimitReached extends Error {
  constructor() {
    super('issue limit reached');
  }
}

/** Collects issues up to a budget; the add that fills it throws IssueLimitReached. */
export class IssueCollector {
  readonly issues: VerificationIssue[] = [];

  constructor(private readonly max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`maxIssues must be a positive integer, got ${max}`);
  }

  get count(): number {
    return this.issues.length;
  }

  /** Issues that may still be added before the limit. */
  get remaining(): number {
    return this.max - this.issues.length;
  }

  add(kind: IssueKind, where: Omit<VerificationIssue, 'kind' | 'message'>, message: string): void {
    // Once full, later additions (a worker's, arriving after the limit) are dropped.
    if (this.issues.length >= this.max) throw new IssueLimitReached();
    const issue: VerificationIssue = { kind, ...where, message };
    for (const k of ['index', 'blockHeight', 'checkpointId'] as const) if (issue[k] === undefined) delete issue[k];
    this.issues.push(issue);
    if (this.issues.length >= this.max) throw new IssueLimitReached();
  }

  event(kind: IssueKind, index: number, message: string): void {
    this.add(kind, { index }, message);
  }

  block(kind: IssueKind, blockHeight: number, message: string): void {
    this.add(kind, { blockHeight }, message);
  }

  checkpoint(kind: IssueKind, checkpointId: number, message: string): void {
    this.add(kind, { checkpointId }, message);
  }
}
