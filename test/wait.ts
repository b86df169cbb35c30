// Polling waits shared by the unit and compat suites (compat-tests/helpers/pubsub.ts re-exports
// `until` for the SDK suites).

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Resolves once cond() holds (polled every 50 ms), or rejects after ms with what() in the message:
 * "timed out after <ms> ms waiting: <what()>".
 */
export async function until(cond: () => boolean | Promise<boolean>, what: () => string, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting: ${what()}`);
    await sleep(50);
  }
}

/** Resolves once cond() holds (polled every 20 ms), with no deadline of its own: the test's timeout bounds the wait. */
export async function eventually(cond: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await cond())) await sleep(20);
}
