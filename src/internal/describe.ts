/**
 * Outside values as error messages show them. Building the error that reports bad input must not fail on that
 * input: `JSON.stringify` throws on a BigInt and on nesting deeper than the stack (a JSON array 20,000 deep is 40 KB,
 * well within any size limit), and `String` throws on an object without a prototype. Both are caught here, and what
 * is shown is bounded, whatever the size of the value.
 */

/** `String(value)`, or a description of the value when it has no string form. Never throws. */
export function textOf(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return '[unprintable value]';
    }
  }
}

/** `value` as JSON (a BigInt as `1n`, what JSON cannot show as its string form), at most `max` characters. Never throws. */
export function quoted(value: unknown, max = 200): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(value);
  } catch {
    s = undefined;
  }
  s ??= typeof value === 'bigint' ? `${value}n` : textOf(value);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
