import { parentPort, workerData } from 'node:worker_threads';
import { ContentChecker } from './content-check.js';
import type { WorkerReply, WorkerRequest, WorkerSetup } from './content-checks.js';
import { IssueCollector, IssueLimitReached } from './issues.js';

// Runs ContentChecker on pages the main thread hands over (see content-checks.ts).
const { ledger, maxIssues } = workerData as WorkerSetup;
parentPort!.on('message', (m: WorkerRequest) => {
  const issues = new IssueCollector(maxIssues);
  let reply: WorkerReply;
  try {
    new ContentChecker(ledger, issues).checkPage(Buffer.from(m.buffer, m.offset, m.length));
    reply = { issues: issues.issues };
  } catch (e) {
    reply = e instanceof IssueLimitReached ? { issues: issues.issues } : { error: String((e as Error)?.stack ?? e) };
  }
  parentPort!.postMessage(reply);
});
