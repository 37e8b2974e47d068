/**
 * Sends statements on one connection back to back, then waits for them all and throws the error
 * of the first that failed (in a transaction, the ones after it only report that the
 * transaction is aborted). PostgreSQL runs them in the order sent. Every statement's failure is
 * handled from the moment it is sent.
 *
 * Why: awaiting each answer before building the next statement left PostgreSQL idle while this
 * thread built parameters (tens of milliseconds for a batch of thousands, under the head lock).
 * A statement leaves for the socket a few promise turns after it is issued, so this yields to
 * the event loop after each: it goes, and the next one is built while PostgreSQL runs it. The
 * yields also keep each synchronous stretch to one statement's building, as awaiting each did.
 * Leave out statements with nothing to send: each costs a turn of the event loop.
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
