/** A bounded pool of async work (pulls, layout writes, the warmer's requests). */
/**
 * Runs `fn` over `items`, at most `limit` at once. After the first failure no new item starts; the ones running
 * are waited for (so nothing is left writing into the store behind the caller's back), then the failure is thrown.
 */
export async function runPool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
