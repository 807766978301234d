/**
 * What the property layer shares: a fixed seed per property (so CI reruns exactly the same inputs; fast-check
 * prints the seed and the shrunk counterexample's path on failure, to replay with `{ seed, path }`), the check that
 * an outcome is a value or a typed error, and generators of hostile input.
 *
 * Purely random strings rarely get past the first check of a parser, so most properties also draw from
 * generators close to valid input: valid values with a few edits (insertions of the characters the grammars care
 * about, deletions, duplications, truncations), and a dictionary of inputs known to break JavaScript parsers
 * (keys of Object.prototype, deep nesting, huge numbers, lone surrogates, NUL).
 */
import fc from 'fast-check';
import { MoteError } from '../../src/errors.js';

/**
 * fast-check parameters: a fixed seed, and few enough runs that the whole layer stays quick on 2 cores. For a
 * longer hunt, `MOTE_PROPERTY_RUNS=20` runs each property 20 times as long and `MOTE_PROPERTY_SEED=n` draws other
 * inputs (the seed printed on a failure replays it).
 */
export function runs(seed: number, numRuns = 300): fc.Parameters<unknown> {
  const factor = Number(process.env.MOTE_PROPERTY_RUNS ?? 1);
  const base = process.env.MOTE_PROPERTY_SEED;
  return {
    seed: base === undefined ? seed : (Number(base) ^ seed) | 0,
    numRuns: Math.max(1, Math.round(numRuns * (Number.isFinite(factor) && factor > 0 ? factor : 1))),
  };
}

/**
 * Calls `fn`: its value, or the error it threw if that is a MoteError with one of `codes` (and a category).
 * Any other exception is rethrown, so the property fails and fast-check reports the input.
 */
export function outcome<T>(fn: () => T, codes: readonly string[]): T | MoteError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof MoteError && codes.includes(err.code) && typeof err.category === 'string') return err;
    throw err;
  }
}

/** {@link outcome} for an async function. */
export async function outcomeAsync<T>(fn: () => Promise<T>, codes: readonly string[]): Promise<T | MoteError> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof MoteError && codes.includes(err.code) && typeof err.category === 'string') return err;
    throw err;
  }
}

/** Names that are properties of every plain object: lookups in `{}` tables find something for them. */
export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf'];

/** Characters the grammars under test give a meaning to, and some that break naive code. */
const SIGNIFICANT = [
  '/', ':', '@', '.', '_', '-', '=', ',', ';', '"', "'", '\\', '<', '>', '?', '#', '%', '&', '+', '*', '[', ']',
  '{', '}', ' ', '\t', '\n', '\r', '\0', 'a', 'z', 'A', 'Z', '0', '9', 'é', '\u{1F600}', '\uD800', '\u202E',
];

/** A string of at most `maxLength` code units, mixing every kind of character (bytes, Unicode, lone surrogates). */
export function anyString(maxLength = 80): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: fc.constantFrom(...SIGNIFICANT), maxLength }),
    fc.string({ unit: 'grapheme', maxLength: Math.ceil(maxLength / 4) }),
  );
}

type Edit = { kind: 'insert' | 'replace' | 'delete' | 'duplicate' | 'truncate'; at: number; len: number; text: string };

const edit: fc.Arbitrary<Edit> = fc.record({
  kind: fc.constantFrom('insert', 'replace', 'delete', 'duplicate', 'truncate'),
  at: fc.nat(),
  len: fc.integer({ min: 1, max: 8 }),
  text: fc.oneof(fc.string({ unit: fc.constantFrom(...SIGNIFICANT), minLength: 1, maxLength: 3 }), fc.constantFrom(...PROTO_KEYS, '..', '//', '::')),
});

function applyEdit(s: string, e: Edit): string {
  const at = s.length === 0 ? 0 : e.at % (s.length + 1);
  switch (e.kind) {
    case 'insert':
      return s.slice(0, at) + e.text + s.slice(at);
    case 'replace':
      return s.slice(0, at) + e.text + s.slice(at + e.len);
    case 'delete':
      return s.slice(0, at) + s.slice(at + e.len);
    case 'duplicate':
      return s.slice(0, at + e.len) + s.slice(at, at + e.len) + s.slice(at + e.len);
    case 'truncate':
      return s.slice(0, at);
  }
}

/** `valid` values, and the same with one to four edits: close enough to the grammar to reach its deep branches. */
export function mutated(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    valid,
    fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([s, edits]) => edits.reduce(applyEdit, s)),
  );
}

/** A lowercase hex string of `n` characters. */
export function hex(n: number): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
}

/** A valid digest of any supported algorithm. */
export const digest: fc.Arbitrary<string> = fc.oneof(
  hex(64).map((h) => `sha256:${h}`),
  hex(128).map((h) => `sha512:${h}`),
  hex(64).map((h) => `blake3:${h}`),
);

/**
 * JSON values that break naive code: nested deeper than any recursive walk of them can go (but well within the
 * size limits), huge and non-integral numbers, and the ordinary ones.
 */
export const hostileJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.integer({ min: 1, max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.integer({ min: 1, max: 20_000 }).map((depth) => '{"a":'.repeat(depth) + '0' + '}'.repeat(depth)),
  fc.constantFrom('1e400', '-0', '9007199254740993', '0.5', '-1', '"\\ud800"', 'null', 'true', '""', '{}', '[]'),
);

/** `valueText` (JSON text) put in place of `field` of the JSON object `doc`. */
export function withField(doc: object, field: string, valueText: string): string {
  const rest = JSON.stringify({ ...doc, [field]: undefined }).slice(1, -1);
  return `{${rest}${rest ? ',' : ''}${JSON.stringify(field)}:${valueText}}`;
}
