/**
 * Sends statements on one connection back to back, yielding to the event loop after each, then
 * waits for them all and throws the error of the first that failed (in a transaction, the ones
 * after it only report that the transaction is aborted). PostgreSQL runs them in the order sent.
 *
 * Why: a statement leaves for the socket a few promise turns after it is issued, so the yield
 * lets it go before the next one's parameters are built; this thread builds while PostgreSQL
 * runs the one ahead, where awaiting each answer kept them waiting on each other. The yields
 * also keep each synchronous stretch to one statement's building, as awaiting each did. Every
 * statement's failure is handled from the moment it is sent.
 *
 * @example await sendInOrder([() => insertEvents(tx, rows), () => insertNodes(tx, nodes)]);
 */
export async function sendInOrder(statements: ReadonlyArray<() => Promise<unknown>>): Promise<void> {
  const sent: Array<Promise<unknown>> = [];
  for (const send of statements) {
    const statement = send();
    statement.catch(() => {});
    sent.push(statement);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const outcomes = await Promise.allSettled(sent);
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
}
