/**
 * Every command's `--json` output, as the built CLI prints it: one shape per concept across commands (a mote is
 * `{ digest, size, mediaType }`, a set of motes a list of digests with its count beside it, byte amounts are
 * numbers of bytes, times ISO 8601 strings, durations `…Ms`), errors as `{"error":{code,message}}` on stderr; and
 * README's table of these shapes names every key each command prints.
 */
import { readFileSync } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client.js';
import { moteRunner } from '../helpers/cli.js';
import { pushTaggedImages, type PushedImage } from '../helpers/push-tags.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-cli-json-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const { mote } = moteRunner(scratch);
const ZERO = `sha256:${'0'.repeat(64)}`;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type Json = Record<string, unknown>;

/** The keys of a document and the JSON type of each value: what a script reading it relies on. */
function shape(doc: unknown): Record<string, string> {
  expect(doc).toBeTypeOf('object');
  return Object.fromEntries(Object.entries(doc as Json).map(([k, v]) => [k, Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v]));
}

/** Runs `mote --json …`: exit 0, nothing on stderr, one JSON document on stdout. */
async function json(args: string[]): Promise<unknown> {
  const r = await mote(['--json', ...args]);
  expect(r.code, r.err).toBe(0);
  expect(r.err).toBe('');
  expect(r.out.trim().split('\n')).toHaveLength(1);
  return JSON.parse(r.out);
}

/** README's `--json` table: command → the row's text. */
function readmeRows(): Map<string, string> {
  const text = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = text.indexOf('### `--json` output');
  expect(start, 'README has a "### `--json` output" section').toBeGreaterThan(0);
  const rows = new Map<string, string>();
  for (const line of text.slice(start).split('\n').slice(1)) {
    if (line.startsWith('#')) break;
    const m = /^\| `mote ([a-z]+)[^`]*` \|(.*)$/.exec(line);
    if (m) rows.set(m[1]!, `${rows.get(m[1]!) ?? ''}${m[2]}`);
  }
  return rows;
}

/** Every key of `doc` (and of `nested` objects inside it) is named in README's row for `command`. */
const documented = new Map<string, Set<string>>();
function seen(command: string, doc: unknown, nested: string[] = []): void {
  const keys = documented.get(command) ?? new Set<string>();
  for (const [k, v] of Object.entries(doc as Json)) {
    keys.add(k);
    if (nested.includes(k) && v && typeof v === 'object' && !Array.isArray(v)) for (const kk of Object.keys(v)) keys.add(kk);
  }
  documented.set(command, keys);
}

const MOTE = { digest: 'string', size: 'number', mediaType: 'string' };

describe('--json of the store commands', () => {
  const cache = fresh('cache');
  const c = (...args: string[]): string[] => ['--cache', cache, ...args];
  const file = (content: string): string => {
    const p = fresh('file');
    fs.writeFileSync(p, content);
    return p;
  };

  it('put, get -o, info, ls: a mote is { digest, size, mediaType } (+ path where there is a file)', async () => {
    const put = (await json(c('put', file('hello'), '--media-type', 'text/plain'))) as Json;
    expect(shape(put)).toEqual(MOTE);
    seen('put', put);
    const got = await json(c('get', String(put.digest), '-o', fresh('out')));
    expect(shape(got)).toEqual({ ...MOTE, path: 'string' });
    seen('get', got);
    const info = await json(c('info', String(put.digest)));
    expect(shape(info)).toEqual({ ...MOTE, path: 'string' });
    seen('info', info);
    const ls = (await json(c('ls'))) as Json[];
    expect(ls.map(shape)).toEqual([MOTE]);
    seen('ls', ls[0]);
  });

  it('rm and prune: removed is a list of digests, removedCount its length, in both', async () => {
    const a = String(((await json(c('put', file('a')))) as Json).digest);
    const rm = (await json(c('rm', a, ZERO))) as Json;
    expect(rm).toEqual({ removed: [a], removedCount: 1, absent: [ZERO], absentCount: 1 });
    seen('rm', rm);

    const b = String(((await json(c('put', file('bb')))) as Json).digest);
    const prune = (await json(c('prune', '--max-size', '0'))) as Json;
    expect(shape(prune)).toEqual({ removed: 'array', removedCount: 'number', freedBytes: 'number', remainingBytes: 'number', maxSize: 'number', olderThanMs: 'null', linkedCount: 'number', linkedBytes: 'number' });
    expect(prune).toMatchObject({ removedCount: 2, freedBytes: 7, remainingBytes: 0, maxSize: 0, linkedCount: 0, linkedBytes: 0 });
    expect(prune.removed as string[]).toContain(b);
    expect(prune.removed as string[]).toHaveLength(2);
    seen('prune', prune);
    const aged = (await json(c('prune', '--older-than', '30d'))) as Json;
    expect(shape(aged)).toEqual({ removed: 'array', removedCount: 'number', freedBytes: 'number', remainingBytes: 'number', maxSize: 'null', olderThanMs: 'number', linkedCount: 'number', linkedBytes: 'number' });
    seen('prune', aged);
  });

  it('verify: corrupt is a list of digests with corruptCount; du: counts and bytes', async () => {
    await json(c('put', file('checked')));
    const verify = (await json(c('verify'))) as Json;
    expect(shape(verify)).toEqual({ checked: 'number', bytes: 'number', corrupt: 'array', corruptCount: 'number', sweptTemporaries: 'number' });
    expect(verify).toMatchObject({ checked: 1, bytes: 7, corrupt: [], corruptCount: 0 });
    seen('verify', verify);
    const du = (await json(c('du'))) as Json;
    expect(du).toEqual({ count: 1, bytes: 7, partialBytes: 0, cache });
    seen('du', du);
  });

  it('an error: one {"error":{code,message}} line on stderr, nothing on stdout', async () => {
    const r = await mote(['--json', ...c('info', ZERO)]);
    expect(r.code).toBe(3);
    expect(r.out).toBe('');
    expect(JSON.parse(r.err)).toEqual({ error: { code: 'ERR_MOTE_NOT_FOUND', message: expect.any(String) } });
  });
});

describe.skipIf(reason)('--json of the registry commands (real registry)', () => {
  let registry: RegistryHandle;
  let pushed: Map<string, PushedImage>;
  let repo: string;
  beforeAll(async () => {
    registry = await startRegistry();
    const client = new RegistryClient({ credentials: false });
    repo = `${registry.host}/team/json`;
    pushed = await pushTaggedImages(client, { registry: registry.host, repository: 'team/json' }, [
      { tags: ['1.0.0'], created: '2024-03-01T00:00:00Z', labels: { a: 'b' } },
      { tags: ['1.1.0'], created: '2024-04-01T00:00:00Z' },
    ]);
    await client.close();
  }, 120_000);
  afterAll(async () => registry?.stop());

  it('pull: the result, with elapsedMs', async () => {
    const cache = fresh('cache');
    const pull = (await json(['pull', `${repo}:1.1.0`, '--to', `oci:${fresh('layout')}`, '--cache', cache])) as Json;
    expect(shape(pull)).toEqual({
      reference: 'string',
      digest: 'string',
      mediaType: 'string',
      destination: 'string',
      manifests: 'array',
      blobs: 'number',
      bytesFromRegistry: 'number',
      bytesFromCache: 'number',
      skipped: 'array',
      warnings: 'array',
      tracker: 'object',
      elapsedMs: 'number',
    });
    expect(pull.digest).toBe(pushed.get('1.1.0')!.digest);
    seen('pull', pull, ['tracker']);

    // What the pull recorded: `mote images`, an array of records.
    const images = (await json(['images', '--cache', cache])) as Json[];
    expect(images).toHaveLength(1);
    expect(shape(images[0])).toEqual({
      reference: 'string',
      registry: 'string',
      repository: 'string',
      tag: 'string',
      digest: 'string',
      mediaType: 'string',
      size: 'number',
      platforms: 'array',
      recordedAt: 'string',
      present: 'boolean',
    });
    expect(images[0]!.recordedAt).toMatch(ISO);
    seen('images', images[0]);
  });

  it('digest: a descriptor, and the full reference', async () => {
    const digest = (await json(['digest', `${repo}:1.0.0`, '--cache', fresh('cache')])) as Json;
    expect(shape(digest)).toEqual({ reference: 'string', digest: 'string', mediaType: 'string', size: 'number', fullRef: 'string' });
    expect(digest.digest).toBe(pushed.get('1.0.0')!.digest);
    seen('digest', digest);
  });

  it('tags, inspect, latest: times are ISO 8601 strings', async () => {
    const cache = fresh('cache');
    const tags = (await json(['tags', repo, '--cache', cache])) as Json;
    expect(shape(tags)).toEqual({ repository: 'string', tags: 'array', lastUpdate: 'string' });
    expect(tags.lastUpdate).toMatch(ISO);
    seen('tags', tags);

    const inspect = (await json(['inspect', `${repo}:1.0.0`, '--cache', cache])) as Json;
    expect(shape(inspect)).toMatchObject({ name: 'string', tag: 'string', reference: 'string', digest: 'string', mediaType: 'string', createdAt: 'string', labels: 'object', platforms: 'array', layers: 'array', size: 'number', lastFetched: 'string' });
    expect(inspect.createdAt).toMatch(ISO);
    expect(inspect.lastFetched).toMatch(ISO);
    seen('inspect', inspect);

    const latest = (await json(['latest', repo, '--semver', '^1', '--cache', cache])) as Json;
    expect(shape(latest)).toEqual({ repository: 'string', tag: 'string', digest: 'string', policy: 'object' });
    expect(latest.tag).toBe('1.1.0');
    seen('latest', latest);
  });

  it('tags: after a refresh that failed, lastError, its time an ISO 8601 string', async () => {
    const gone = await startRegistry();
    const client = new RegistryClient({ credentials: false });
    await pushTaggedImages(client, { registry: gone.host, repository: 'team/gone' }, [{ tags: ['1'] }]);
    await client.close();
    const cache = fresh('cache');
    await json(['tags', `${gone.host}/team/gone`, '--cache', cache]);
    await gone.stop();
    const failed = await mote(['--json', 'tags', `${gone.host}/team/gone`, '--cache', cache, '--refresh']);
    expect(failed.code).toBe(7);
    const tags = (await json(['tags', `${gone.host}/team/gone`, '--cache', cache, '--offline'])) as Json;
    expect(shape(tags)).toEqual({ repository: 'string', tags: 'array', lastUpdate: 'string', lastError: 'object' });
    expect(shape(tags.lastError)).toEqual({ message: 'string', code: 'string', at: 'string' });
    expect((tags.lastError as Json).at).toMatch(ISO);
    seen('tags', tags, ['lastError']);
  }, 60_000);

  it('warm --once: JSON lines, a {"change":…} per change, then the report', async () => {
    const r = await mote(['--json', 'warm', repo, '--once', '--cache', fresh('cache')]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Json);
    const report = lines.at(-1)!;
    expect(shape(report)).toEqual({ refreshed: 'array', failed: 'array', leasedElsewhere: 'array', skipped: 'array', tagsKnown: 'number', lagMs: 'number' });
    for (const l of lines.slice(0, -1)) expect(Object.keys(l)).toEqual(['change']);
    expect(lines.length).toBeGreaterThan(1);
    seen('warm', report);
    seen('warm', lines[0]);
  });

  it('warm (running): JSON lines on stdout ({"listening"}, {"change"}, {"cycle"}); a failing repository is a JSON warning on stderr', async () => {
    const { start } = moteRunner(scratch);
    const missing = `${registry.host}/team/missing`;
    const w = start(['--json', 'warm', repo, missing, '--cache', fresh('cache'), '--listen', '127.0.0.1:0', '--interval', '1h']);
    let out = '';
    w.child.stdout!.on('data', (d) => (out += String(d)));
    const deadline = Date.now() + 30_000;
    while (!out.includes('{"cycle":')) {
      if (Date.now() > deadline) throw new Error(`no cycle line: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    w.child.kill('SIGTERM');
    const end = await w.done;
    expect(end.code, end.err).toBe(0);
    const lines = end.out.trim().split('\n').map((l) => JSON.parse(l) as Json);
    expect(lines[0]).toEqual({ listening: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    const cycle = lines.find((l) => 'cycle' in l)!;
    expect(shape(cycle.cycle)).toEqual({ refreshed: 'array', failed: 'array', leasedElsewhere: 'array', skipped: 'array', tagsKnown: 'number', lagMs: 'number' });
    expect((cycle.cycle as Json).failed).toEqual([missing]);
    for (const l of lines.slice(1)) expect(['change', 'cycle']).toContain(Object.keys(l)[0]);
    const warnings = end.err.trim().split('\n').map((l) => JSON.parse(l) as Json);
    expect(warnings).toEqual([{ warning: { code: 'ERR_REGISTRY_NOT_FOUND', message: expect.any(String), name: 'WarmFailure', repository: missing } }]);
    seen('warm', lines[0]);
    seen('warm', cycle);
    seen('warm', warnings[0], ['warning']);
  }, 60_000);
});

describe('README documents every key', () => {
  it('its `--json` table has a row per command naming each key the tests above saw', () => {
    const rows = readmeRows();
    for (const [command, keys] of documented) {
      const row = rows.get(command);
      expect(row, `README --json table: no row for mote ${command}`).toBeDefined();
      for (const k of keys) expect(row, `mote ${command}: ${k}`).toMatch(new RegExp(`[{ ,\`"]${k}[?,}:\` "]`));
    }
    expect(documented.size).toBeGreaterThanOrEqual(reason ? 8 : 14);
  });
});
