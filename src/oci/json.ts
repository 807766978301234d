/**
 * JSON documents from outside (manifests, indexes, `oci-layout`, `index.json`) are parsed with a bound on their
 * nesting. `JSON.parse` takes any depth, but what is kept of a document (an index.json's entries and unknown fields,
 * a descriptor's platform and annotations) is written back with `JSON.stringify`, which recurses and throws a
 * RangeError some thousands of levels down. A real document nests a handful of levels.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether JSON text nests arrays and objects deeper than `limit` (brackets inside strings do not count). */
export function nestedDeeperThan(text: string, limit: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
