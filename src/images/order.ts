/**
 * "Newest-looking first": the order the warmer looks at tags in, so that a policy's answer converges early. Not a
 * policy (see policy.ts): a cheap guess that puts `v1.10.2` before `v1.9`, `20240102` before `20231231`, and
 * `latest` first.
 */
const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' });

export function newestFirst(tags: readonly string[]): string[] {
  return [...tags].sort((a, b) => {
    if (a === 'latest' || b === 'latest') return a === 'latest' ? (b === 'latest' ? 0 : -1) : 1;
    return collator.compare(b, a);
  });
}
