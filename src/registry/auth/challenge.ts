/** `WWW-Authenticate` challenges: what a registry says it wants when it answers 401. */

export interface Challenge {
  /** Lowercase scheme: `bearer`, `basic`. */
  scheme: string;
  /** Parameters with lowercase names: `realm`, `service`, `scope`, `error`. */
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` value (RFC 9110 §11.6.1): one or more challenges, each a scheme followed by
 * comma-separated `name=value` / `name="quoted value"` parameters. Unparsable input gives what could be read.
 */
export function parseWWWAuthenticate(header: string | string[] | undefined): Challenge[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const value of values) {
    let i = 0;
    const s = value;
    const skipWs = () => {
      while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === ',')) i++;
    };
    const token = () => {
      const start = i;
      while (i < s.length && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(s[i]!)) i++;
      return s.slice(start, i);
    };
    let current: Challenge | undefined;
    while (i < s.length) {
      skipWs();
      const start = i;
      const name = token();
      if (!name) {
        i++;
        continue;
      }
      let j = i;
      while (j < s.length && (s[j] === ' ' || s[j] === '\t')) j++;
      if (s[j] === '=' && current) {
        i = j + 1;
        while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
        let val = '';
        if (s[i] === '"') {
          i++;
          while (i < s.length && s[i] !== '"') {
            if (s[i] === '\\' && i + 1 < s.length) i++;
            val += s[i];
            i++;
          }
          i++;
        } else {
          const vs = i;
          while (i < s.length && s[i] !== ',') i++;
          val = s.slice(vs, i).trim();
        }
        // Defined, not assigned: assigning `__proto__` would try to set the prototype and drop the parameter.
        Object.defineProperty(current.params, name.toLowerCase(), { value: val, enumerable: true, writable: true, configurable: true });
      } else {
        // A new challenge (a token68 after the scheme, used by no registry, is skipped).
        if (start === i) i++;
        current = { scheme: name.toLowerCase(), params: {} };
        out.push(current);
      }
    }
  }
  return out;
}
