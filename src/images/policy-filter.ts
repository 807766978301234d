/**
 * The tag filter of an image policy (Flux v2's `filterTags`): a regular expression the tag must match, and an
 * optional template (`$ts`, `${1}`, `$$`) that builds, from the match's groups, the value the policy compares.
 */
import vm from 'node:vm';
import { InvalidArgumentError } from '../errors.js';

/** No OCI tag is longer (the distribution spec's grammar); longer names are never candidates. */
export const MAX_TAG_LENGTH = 128;
/** Longer patterns and templates are refused (they are typed by hand). */
const MAX_PATTERN_LENGTH = 1024;
/**
 * The time one filter may spend over all of a repository's tags. A sane pattern needs microseconds per tag; a
 * catastrophic one (`(a+)+$`) can backtrack for ages even on 128 characters, so the matching runs under a
 * `vm` timeout, the only way to interrupt a running RegExp in Node without the experimental linear engine.
 */
export const FILTER_TIME_LIMIT_MS = 500;

/** Which tags a policy considers, and what it compares for each. */
export interface TagFilter {
  /** A JavaScript regular expression, unanchored (Go's `(?P<name>...)` groups are accepted too). */
  pattern: string;
  /** A template of the match's groups: `$name`, `${name}`, `$1`, `$0` (the match), `$$` (a `$`). */
  extract?: string;
}

type Part = string | { group: number } | { name: string };

export interface CompiledFilter {
  readonly regex: RegExp;
  readonly template: readonly Part[] | undefined;
}

/** Compiles and checks a filter. @throws InvalidArgumentError for a bad pattern or a template naming no group. */
export function compileFilter(filter: TagFilter): CompiledFilter {
  const { pattern, extract } = filter;
  if (typeof pattern !== 'string' || pattern === '') throw new InvalidArgumentError('tag filter: the pattern must be a non-empty string');
  if (pattern.length > MAX_PATTERN_LENGTH) throw new InvalidArgumentError(`tag filter: the pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  let regex: RegExp;
  try {
    regex = new RegExp(fromGoSyntax(pattern));
  } catch (err) {
    throw new InvalidArgumentError(`tag filter: invalid regular expression ${quote(pattern)}: ${(err as Error).message}`);
  }
  if (extract === undefined) return { regex, template: undefined };
  if (typeof extract !== 'string' || extract === '') throw new InvalidArgumentError('tag filter: the extract template must be a non-empty string');
  if (extract.length > MAX_PATTERN_LENGTH) throw new InvalidArgumentError(`tag filter: the extract template is longer than ${MAX_PATTERN_LENGTH} characters`);
  // The groups, without running the pattern on a tag: an added empty alternative always matches.
  const probe = new RegExp(`${regex.source}|`).exec('')!;
  const template = parseTemplate(extract, probe.length - 1, new Set(Object.keys(probe.groups ?? {})));
  return { regex, template };
}

/**
 * The tags the filter keeps (at most {@link MAX_TAG_LENGTH} long), each with the value to compare: the extracted
 * one, or the tag itself.
 *
 * @throws InvalidArgumentError when the pattern takes longer than {@link FILTER_TIME_LIMIT_MS} over all tags.
 */
export function applyFilter(filter: CompiledFilter, tags: readonly string[]): Map<string, string> {
  const { regex, template } = filter;
  const kept = new Map<string, string>();
  const run = (): void => {
    for (const tag of tags) {
      if (tag.length > MAX_TAG_LENGTH) continue;
      const m = regex.exec(tag);
      if (m) kept.set(tag, template ? expand(template, m) : tag);
    }
  };
  try {
    guarded(run);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
    throw new InvalidArgumentError(
      `tag filter: ${quote(regex.source)} took more than ${FILTER_TIME_LIMIT_MS} ms over ${tags.length} tags (catastrophic backtracking?)`,
    );
  }
  return kept;
}

let sandbox: { context: vm.Context; script: vm.Script } | undefined;

/** Runs `fn` with a time limit; the host function runs as is (same realm), the script only carries the limit. */
function guarded(fn: () => void): void {
  sandbox ??= { context: vm.createContext({ run: undefined }), script: new vm.Script('run()') };
  const { context, script } = sandbox;
  context.run = fn;
  try {
    script.runInContext(context, { timeout: FILTER_TIME_LIMIT_MS });
  } finally {
    context.run = undefined;
  }
}

function expand(template: readonly Part[], m: RegExpExecArray): string {
  let out = '';
  for (const part of template) {
    if (typeof part === 'string') out += part;
    // As Go's Regexp.Expand: a group that did not take part in the match is empty.
    else if ('group' in part) out += m[part.group] ?? '';
    else out += m.groups?.[part.name] ?? '';
  }
  return out;
}

/**
 * Go's template syntax (what Flux uses): `$name` takes the longest run of letters, digits and `_` (`$1x` is the
 * group named `1x`); a purely numeric name without a leading zero is a group number. Unlike Go, a reference to a
 * group the pattern does not have, or a `$` that starts no reference, is an error rather than silently empty.
 */
function parseTemplate(template: string, groupCount: number, names: ReadonlySet<string>): Part[] {
  const parts: Part[] = [];
  const re = /\$(?:(\$)|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))|([^$]+)|(\$)/g;
  for (const m of template.matchAll(re)) {
    const [, dollar, braced, bare, text, lone] = m;
    if (text !== undefined || dollar !== undefined) {
      const literal = text ?? '$';
      const last = parts.at(-1);
      if (typeof last === 'string') parts[parts.length - 1] = last + literal;
      else parts.push(literal);
      continue;
    }
    if (lone !== undefined) {
      throw new InvalidArgumentError(`tag filter: ${quote(template)}: a "$" must start $name, \${name}, $1 or $$ (at ${m.index})`);
    }
    const name = (braced ?? bare)!;
    if (/^(?:0|[1-9]\d{0,8})$/.test(name)) {
      const group = Number(name);
      if (group > groupCount) throw new InvalidArgumentError(`tag filter: ${quote(template)} uses $${name}, but the pattern has ${groupCount} groups`);
      parts.push({ group });
    } else {
      if (!names.has(name)) throw new InvalidArgumentError(`tag filter: ${quote(template)} uses $${name}, but the pattern has no group (?<${name}>...)`);
      parts.push({ name });
    }
  }
  return parts;
}

/** Go's `(?P<name>` (Flux's examples) as JavaScript's `(?<name>`; escapes and character classes are left alone. */
function fromGoSyntax(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      out += pattern.slice(i, i + 2);
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else if (pattern.startsWith('(?P<', i)) {
      out += '(?<';
      i += 3;
    } else {
      out += c;
    }
  }
  return out;
}

function quote(s: string): string {
  return JSON.stringify(s).slice(0, 200);
}
