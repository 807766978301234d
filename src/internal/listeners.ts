/**
 * Calls a listener the caller handed us (progress, events, removal notices) so that its failure is not ours: a
 * progress bar that throws must not fail a download, nor, thrown from a stream's 'data' handler, end the process
 * as an uncaught exception.
 */
export function callSafely<A extends unknown[]>(listener: ((...args: A) => void) | undefined, ...args: A): void {
  if (!listener) return;
  try {
    listener(...args);
  } catch {
    /* the listener's failure is not the operation's */
  }
}
