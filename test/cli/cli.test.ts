import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { defaultCacheDir, resolveCacheDir } from '../../src/cli/paths.js';
import { PROGRESS_THRESHOLD_BYTES, progressEnabled } from '../../src/cli/progress.js';
import { deadPid } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'dist', 'bin', 'mote.js');

const scratch = mkdtempSync(path.join(tmpdir(), 'mote-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;
/** A fresh directory under the test's scratch space. */
function freshDir(label: string): string {
  const dir = path.join(scratch, `${label}-${++n}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface Run {
  code: number | null;
  stdout: Buffer;
  out: string;
  stderr: string;
}

/** An environment with no cache-dir variables and a private HOME, so that no test can touch a real cache. */
function isolatedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.MOTE_CACHE_DIR;
  delete env.XDG_CACHE_HOME;
  // No configuration file from outside either (the private HOME has none).
  delete env.MOTE_CONFIG;
  delete env.XDG_CONFIG_HOME;
  env.HOME = path.join(scratch, 'home');
  return { ...env, ...extra };
}

/** Runs `mote args...` to completion. */
function mote(args: string[], options: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Run {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    input: options.input ?? '',
    env: options.env ?? isolatedEnv(),
    cwd: options.cwd ?? scratch,
    maxBuffer: 64 << 20,
    timeout: 30_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, out: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8') };
}

const sha256 = (data: string | Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const parseJson = <T = Record<string, unknown>>(text: string): T => JSON.parse(text) as T;
const ZERO_DIGEST = `sha256:${'0'.repeat(64)}`;

let cache: string;
/** `mote --cache <this test's cache> args...` */
const m = (args: string[], options: { input?: string | Buffer } = {}): Run => mote(['--cache', cache, ...args], options);

beforeEach(() => {
  cache = freshDir('cache');
});

/** Writes `data` to a new file in the scratch space and returns its path. */
function fileWith(data: string | Buffer, name = 'input.bin'): string {
  const file = path.join(freshDir('files'), name);
  writeFileSync(file, data);
  return file;
}

describe('mote put / get', () => {
  it('round-trips a file: put prints the digest, get writes the bytes to stdout', () => {
    const data = randomBytes(300_000);
    const put = m(['put', fileWith(data)]);
    expect(put.code, put.stderr).toBe(0);
    expect(put.out).toBe(`${sha256(data)}\n`);
    const get = m(['get', sha256(data)]);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout.equals(data)).toBe(true);
  });

  it('round-trips stdin with put -', () => {
    const data = randomBytes(5 * 1024 * 1024 + 17); // several chunks, not a multiple of any chunk size
    const put = m(['put', '-'], { input: data });
    expect(put.code, put.stderr).toBe(0);
    expect(put.out.trim()).toBe(sha256(data));
    const get = m(['get', sha256(data)]);
    expect(get.stdout.length).toBe(data.length);
    expect(get.stdout.equals(data)).toBe(true);
  });

  it('stores an empty input', () => {
    const put = m(['--json', 'put', '-'], { input: '' });
    expect(put.code, put.stderr).toBe(0);
    expect(parseJson(put.out)).toMatchObject({ digest: sha256(''), size: 0 });
    expect(m(['get', sha256('')]).stdout.length).toBe(0);
  });

  it('put --json prints the MoteInfo, with the media type given', () => {
    const data = 'hello json\n';
    const put = m(['--json', 'put', '--media-type', 'text/plain', fileWith(data)]);
    expect(put.code, put.stderr).toBe(0);
    expect(put.out.endsWith('\n')).toBe(true);
    expect(put.out.trim().split('\n')).toHaveLength(1); // one document
    expect(parseJson(put.out)).toEqual({ digest: sha256(data), size: Buffer.byteLength(data), mediaType: 'text/plain' });
  });

  it('defaults the media type to application/octet-stream', () => {
    const put = m(['--json', 'put', fileWith('x')]);
    expect(parseJson(put.out).mediaType).toBe('application/octet-stream');
  });

  it('accepts global options after the command name', () => {
    const put = m(['put', fileWith('after'), '--json']);
    expect(put.code, put.stderr).toBe(0);
    expect(parseJson(put.out).digest).toBe(sha256('after'));
  });

  it('put --digest accepts matching content', () => {
    const data = 'expected content';
    const put = m(['put', '--digest', sha256(data), '-'], { input: data });
    expect(put.code, put.stderr).toBe(0);
    expect(put.out.trim()).toBe(sha256(data));
  });

  it('put --digest mismatch exits 4 with ERR_MOTE_DIGEST_MISMATCH and stores nothing', () => {
    const put = m(['put', '--digest', sha256('something else'), '-'], { input: 'actual content' });
    expect(put.code).toBe(ExitCode.Integrity);
    expect(put.out).toBe('');
    expect(put.stderr).toMatch(/^mote: ERR_MOTE_DIGEST_MISMATCH: .*\n$/);
    expect(put.stderr).toContain(sha256('something else'));
    const du = parseJson(m(['--json', 'du']).out);
    expect(du.count).toBe(0);
    expect(m(['get', sha256('actual content')]).code).toBe(ExitCode.NotFound);
  });

  it('put --size mismatch exits 4 with ERR_MOTE_SIZE_MISMATCH (JSON error on stderr)', () => {
    const put = m(['--json', 'put', '--size', '3', '-'], { input: 'four' });
    expect(put.code).toBe(ExitCode.Integrity);
    expect(put.out).toBe('');
    expect(parseJson<{ error: { code: string; message: string } }>(put.stderr).error.code).toBe('ERR_MOTE_SIZE_MISMATCH');
  });

  it('put --algorithm hashes with that algorithm; a bad or contradicting one is a usage error', () => {
    const put = m(['--json', 'put', '--algorithm', 'sha512', fileWith('five12')]);
    expect(put.code, put.stderr).toBe(0);
    expect(parseJson(put.out).digest).toBe(`sha512:${createHash('sha512').update('five12').digest('hex')}`);
    const bad = m(['put', '--algorithm', 'md5', fileWith('x')]);
    expect(bad.code).toBe(ExitCode.Usage);
    expect(bad.stderr).toContain('ERR_MOTE_INVALID_ARGUMENT');
    const conflict = m(['put', '--algorithm', 'blake3', '--digest', sha256('x'), fileWith('x')]);
    expect(conflict.code).toBe(ExitCode.Usage);
  });

  it('put of a missing file or of a directory is a usage error', () => {
    const missing = m(['put', path.join(scratch, 'no-such-file')]);
    expect(missing.code).toBe(ExitCode.Usage);
    expect(missing.stderr).toMatch(/^mote: ERR_MOTE_NO_SUCH_FILE: /);
    const dir = m(['put', freshDir('a-dir')]);
    expect(dir.code).toBe(ExitCode.Usage);
    expect(dir.stderr).toContain('is a directory');
  });

  it('putting the same content twice keeps one mote', () => {
    const file = fileWith('twice');
    expect(m(['put', file]).code).toBe(0);
    expect(m(['put', file]).code).toBe(0);
    expect(parseJson(m(['--json', 'du']).out)).toMatchObject({ count: 1, bytes: 5 });
  });
});

describe('mote get -o', () => {
  it('writes the file atomically and leaves no temporary behind', () => {
    const data = randomBytes(100_000);
    const digest = m(['put', fileWith(data)]).out.trim();
    const outDir = freshDir('out');
    const target = path.join(outDir, 'blob.bin');
    writeFileSync(target, 'old content');
    const get = m(['get', digest, '-o', target]);
    expect(get.code, get.stderr).toBe(0);
    expect(get.out).toBe(''); // the content went to the file, not stdout
    expect(readFileSync(target).equals(data)).toBe(true);
    expect(readdirSync(outDir)).toEqual(['blob.bin']);
  });

  it('--json reports the MoteInfo and the absolute output path', () => {
    const digest = m(['put', '--media-type', 'x/y', fileWith('abc')]).out.trim();
    const outDir = freshDir('out');
    const get = mote(['--cache', cache, '--json', 'get', digest, '-o', 'rel.out'], { cwd: outDir });
    expect(get.code, get.stderr).toBe(0);
    expect(parseJson(get.out)).toEqual({ digest, size: 3, mediaType: 'x/y', path: path.join(outDir, 'rel.out') });
    expect(readFileSync(path.join(outDir, 'rel.out'), 'utf8')).toBe('abc');
  });

  it('leaves an existing target untouched when the mote is missing', () => {
    const outDir = freshDir('out');
    const target = path.join(outDir, 'keep.txt');
    writeFileSync(target, 'keep me');
    const get = m(['get', ZERO_DIGEST, '-o', target]);
    expect(get.code).toBe(ExitCode.NotFound);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(readdirSync(outDir)).toEqual(['keep.txt']);
  });

  it('removes what a killed `get -o` of the same file left (its temporary, named with its dead pid), never a live one', () => {
    const digest = m(['put', fileWith('fresh')]).out.trim();
    const outDir = freshDir('out');
    const target = path.join(outDir, 'blob.bin');
    const dead = path.join(outDir, `.blob.bin.${deadPid()}-abcdef123456.mote-tmp`);
    const live = path.join(outDir, `.blob.bin.${process.pid}-abcdef123456.mote-tmp`);
    const other = path.join(outDir, `.other.bin.${deadPid()}-abcdef123456.mote-tmp`);
    for (const f of [dead, live, other]) writeFileSync(f, 'half written');
    const get = m(['get', digest, '-o', target]);
    expect(get.code, get.stderr).toBe(0);
    expect(readdirSync(outDir).sort()).toEqual([path.basename(live), path.basename(other), 'blob.bin'].sort());
  });

  it("-o - writes to stdout", () => {
    const digest = m(['put', fileWith('to stdout')]).out.trim();
    const get = m(['get', digest, '-o', '-']);
    expect(get.out).toBe('to stdout');
  });
});

describe('mote put --media-type', () => {
  it('refuses a media type with a newline, or too long, as a usage error, and stores nothing', () => {
    for (const mediaType of ['application/json\nx', 'a/' + 'b'.repeat(300)]) {
      const r = m(['--json', 'put', '-', '--media-type', mediaType], { input: 'data' });
      expect(r.code, r.stderr).toBe(ExitCode.Usage);
      expect(parseJson<{ error: { code: string } }>(r.stderr).error.code).toBe('ERR_MOTE_INVALID_ARGUMENT');
    }
    expect(parseJson(m(['--json', 'du']).out)).toMatchObject({ count: 0 });
  });
});

describe('a cache directory that cannot hold a cache', () => {
  it('mote --cache /proc/self fails fast with a usage error instead of spinning', () => {
    for (const args of [['du'], ['ls'], ['put', '-'], ['verify']]) {
      const r = mote(['--cache', '/proc/self', '--json', ...args], { input: 'x' });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(ExitCode.Usage);
      expect(parseJson<{ error: { code: string } }>(r.stderr).error.code).toBe('ERR_MOTE_INVALID_ARGUMENT');
    }
  });
});

describe('mote ls / info / du', () => {
  it('ls lists every mote; --json gives an array of MoteInfo', () => {
    expect(parseJson<unknown[]>(m(['--json', 'ls']).out)).toEqual([]);
    expect(m(['ls']).out).toBe('');
    type Info = { digest: string; size: number; mediaType: string };
    const a = parseJson<Info>(m(['--json', 'put', '--media-type', 'text/plain', fileWith('aaa')]).out);
    const b = parseJson<Info>(m(['--json', 'put', fileWith(randomBytes(2048))]).out);
    const ls = m(['--json', 'ls']);
    expect(ls.code, ls.stderr).toBe(0);
    const byDigest = (x: Info, y: Info): number => x.digest.localeCompare(y.digest);
    expect(parseJson<Info[]>(ls.out).sort(byDigest)).toEqual([a, b].sort(byDigest));
    const human = m(['ls']).out.trim().split('\n');
    expect(human).toHaveLength(2);
    const lineA = human.find((l) => l.startsWith(a.digest));
    expect(lineA).toMatch(/ 3 B {2}text\/plain$/);
    expect(human.find((l) => l.startsWith(b.digest))).toMatch(/ 2 KiB {2}application\/octet-stream$/);
  });

  it('info shows the MoteInfo and the path of the blob', () => {
    const data = 'info me';
    const digest = m(['put', '--media-type', 'text/plain', fileWith(data)]).out.trim();
    const info = m(['--json', 'info', digest]);
    expect(info.code, info.stderr).toBe(0);
    const doc = parseJson(info.out);
    expect(doc).toEqual({ digest, size: 7, mediaType: 'text/plain', path: path.join(cache, 'blobs', 'sha256', digest.slice(7)) });
    expect(readFileSync(String(doc.path), 'utf8')).toBe(data);
    const human = m(['info', digest]).out;
    expect(human).toContain(`digest:     ${digest}`);
    expect(human).toContain('size:       7 (7 B)');
    expect(human).toContain('media type: text/plain');
  });

  it('info of a missing mote exits 3', () => {
    const info = m(['info', ZERO_DIGEST]);
    expect(info.code).toBe(ExitCode.NotFound);
    expect(info.stderr).toContain('ERR_MOTE_NOT_FOUND');
  });

  it('du counts motes and bytes', () => {
    expect(parseJson(m(['--json', 'du']).out)).toEqual({ count: 0, bytes: 0, partialBytes: 0, cache });
    m(['put', fileWith(randomBytes(1000))]);
    m(['put', fileWith(randomBytes(3000))]);
    const du = m(['--json', 'du']);
    expect(du.code).toBe(0);
    expect(parseJson(du.out)).toEqual({ count: 2, bytes: 4000, partialBytes: 0, cache });
    expect(m(['du']).out).toBe(`2 blobs, 3.9 KiB (4000 bytes) in ${cache}\n`);
  });
});

describe('mote rm', () => {
  it('removes motes; get afterwards exits 3 naming the code and the digest', () => {
    const digest = m(['put', fileWith('remove me')]).out.trim();
    const rm = m(['rm', digest]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.out).toBe(`removed ${digest}\n`);
    const get = m(['get', digest]);
    expect(get.code).toBe(ExitCode.NotFound);
    expect(get.out).toBe('');
    expect(get.stderr).toBe(`mote: ERR_MOTE_NOT_FOUND: blob ${digest}: not found in the cache\n`);
  });

  it('--json reports removed and absent digests, and errors as {"error":{code,message}}', () => {
    const a = m(['put', fileWith('a')]).out.trim();
    const b = m(['put', fileWith('b')]).out.trim();
    const rm = m(['--json', 'rm', a, b, ZERO_DIGEST]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(parseJson(rm.out)).toEqual({ removed: [a, b], removedCount: 2, absent: [ZERO_DIGEST], absentCount: 1 });
    const get = m(['--json', 'get', a]);
    expect(get.code).toBe(ExitCode.NotFound);
    const err = parseJson<{ error: { code: string; message: string } }>(get.stderr);
    expect(Object.keys(err)).toEqual(['error']);
    expect(err.error.code).toBe('ERR_MOTE_NOT_FOUND');
    expect(err.error.message).toContain(a);
  });

  it('removes nothing if any digest is invalid', () => {
    const digest = m(['put', fileWith('survivor')]).out.trim();
    const rm = m(['rm', digest, 'sha256:nope']);
    expect(rm.code).toBe(ExitCode.Usage);
    expect(rm.stderr).toContain('ERR_INVALID_DIGEST');
    expect(m(['get', digest]).out).toBe('survivor');
  });
});

describe('usage errors exit 2', () => {
  it.each([
    ['get', ['get', 'sha256:abc']],
    ['info', ['info', 'md5:d41d8cd98f00b204e9800998ecf8427e']],
    ['uppercase hex', ['get', `sha256:${'A'.repeat(64)}`]],
    ['path traversal', ['get', 'sha256:../../etc/passwd']],
    ['put --digest', ['put', '--digest', 'not-a-digest', '-']],
  ])('a bad digest (%s) is ERR_INVALID_DIGEST', (_label, args) => {
    const r = m(args);
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toMatch(/^mote: ERR_INVALID_DIGEST: /);
  });

  it.each([['garbage'], ['-1G'], ['10 XB'], ['1.5']])('a bad size (%j) is ERR_MOTE_INVALID_ARGUMENT', (size) => {
    const r = m(['prune', '--max-size', size]);
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toMatch(/^mote: ERR_MOTE_INVALID_ARGUMENT: invalid size /);
  });

  it('a bad put --size is a usage error', () => {
    expect(m(['put', '--size', 'lots', '-'], { input: 'x' }).code).toBe(ExitCode.Usage);
  });

  it.each([
    ['an unknown command', ['frobnicate']],
    ['an unknown option', ['ls', '--frob']],
    ['a missing argument', ['get']],
    ['a missing required option', ['prune']],
    ['no command at all', []],
  ])('%s is ERR_MOTE_USAGE', (_label, args) => {
    const r = m(args);
    expect(r.code).toBe(ExitCode.Usage);
    if (args.length > 0) expect(r.stderr).toMatch(/^mote: ERR_MOTE_USAGE: /);
    else expect(r.stderr).toContain('Usage: mote');
  });

  it('formats usage errors as JSON under --json', () => {
    const r = m(['--json', 'prune']);
    expect(r.code).toBe(ExitCode.Usage);
    expect(parseJson<{ error: { code: string } }>(r.stderr).error.code).toBe('ERR_MOTE_USAGE');
  });

  it('--help and --version exit 0', () => {
    const help = mote(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('Exit codes:');
    for (const flag of ['-V']) expect(mote(flag.split(' ')).out.trim()).toBe(parseJson<{ version: string }>(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
    const version = mote(['--version']);
    expect(version.code).toBe(0);
    const pkg = parseJson<{ version: string }>(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(version.out.trim()).toBe(pkg.version);
  });
});

describe('words', () => {
  // What users say: blob. "mote" is the command's name and the library's word (README defines it), not the help's.
  it('no command\'s --help calls a blob a mote', () => {
    const commands = ['put', 'get', 'ls', 'info', 'rm', 'prune', 'verify', 'du', 'pull', 'tags', 'inspect', 'latest', 'warm'];
    for (const args of [['--help'], ...commands.map((c) => [c, '--help'])]) {
      const help = mote(args);
      expect(help.code, args.join(' ')).toBe(0);
      // `mote` as the program's name is fine; a mote as a thing is not.
      expect(help.out, args.join(' ')).not.toMatch(/\b(a|the|every|each|corrupt|absent|cached)\s+motes?\b|\bmotes\b|\bmote's|\btracker\b|\bthe original\b/i);
    }
  });
});

describe('mote verify', () => {
  it('reports a clean cache with exit 0', () => {
    m(['put', fileWith('clean one')]);
    m(['put', fileWith('clean two')]);
    const v = m(['--json', 'verify']);
    expect(v.code, v.stderr).toBe(0);
    expect(parseJson(v.out)).toMatchObject({ checked: 2, bytes: 18, corrupt: [] });
    expect(m(['verify']).out).toMatch(/^verified 2 blobs \(18 B\)\n$/);
  });

  it('exits 4 after a blob is corrupted on disk, and the corrupt mote is gone', () => {
    const good = m(['put', fileWith('good content')]).out.trim();
    const bad = m(['put', fileWith('soon to be corrupted')]).out.trim();
    const blobPath = String(parseJson(m(['--json', 'info', bad]).out).path);
    chmodSync(blobPath, 0o644);
    const fd = openSync(blobPath, 'r+');
    writeSync(fd, Buffer.from('S'), 0, 1, 0); // 's' -> 'S': same size, different digest
    closeSync(fd);

    const v = m(['--json', 'verify']);
    expect(v.code).toBe(ExitCode.Integrity);
    expect(parseJson(v.out)).toMatchObject({ checked: 2, corrupt: [bad] });
    const err = parseJson<{ error: { code: string; message: string } }>(v.stderr);
    expect(err.error.code).toBe('ERR_MOTE_CORRUPT');
    expect(err.error.message).toContain(bad);

    expect(existsSync(blobPath)).toBe(false);
    expect(m(['info', bad]).code).toBe(ExitCode.NotFound);
    expect(m(['get', good]).out).toBe('good content');
    const again = m(['verify']);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^verified 1 blob /);
  });

  it('get --verify exits 4 on a corrupt blob and evicts it', () => {
    const digest = m(['put', fileWith('read me carefully')]).out.trim();
    const blobPath = path.join(cache, 'blobs', 'sha256', digest.slice(7));
    chmodSync(blobPath, 0o644);
    writeFileSync(blobPath, 'READ me carefully');
    const target = path.join(freshDir('out'), 'verified.txt');
    const get = m(['get', '--verify', digest, '-o', target]);
    expect(get.code).toBe(ExitCode.Integrity);
    expect(get.stderr).toContain('ERR_MOTE_DIGEST_MISMATCH');
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(path.dirname(target))).toEqual([]);
    expect(m(['info', digest]).code).toBe(ExitCode.NotFound);
  });
});

describe('mote prune', () => {
  it('shrinks the cache to the limit and reports what it did', () => {
    const digests: string[] = [];
    for (let i = 0; i < 4; i++) {
      const put = m(['put', fileWith(randomBytes(10 * 1024))]);
      expect(put.code).toBe(0);
      digests.push(put.out.trim());
    }
    const p = m(['--json', 'prune', '--max-size', '25KiB']);
    expect(p.code, p.stderr).toBe(0);
    const doc = parseJson<{ removed: string[]; removedCount: number; freedBytes: number; remainingBytes: number; maxSize: number; linkedCount: number; linkedBytes: number }>(p.out);
    expect(doc).toEqual({ removed: [expect.any(String), expect.any(String)], removedCount: 2, freedBytes: 20 * 1024, remainingBytes: 20 * 1024, maxSize: 25 * 1024, olderThanMs: null, linkedCount: 0, linkedBytes: 0 });
    // the two least recently used: the first two put
    expect([...doc.removed].sort()).toEqual(digests.slice(0, 2).sort());
    expect(parseJson(m(['--json', 'du']).out)).toMatchObject({ count: 2, bytes: 20 * 1024 });
    const human = m(['prune', '--max-size', '0']);
    expect(human.out).toBe('removed 2 blobs, freed 20 KiB, 0 B remaining (limit 0 B)\n');
    expect(parseJson(m(['--json', 'du']).out)).toMatchObject({ count: 0, bytes: 0 });
  });

  it('--older-than removes what was not used for that long, whatever the size; with neither option it is a usage error', () => {
    const [old, recent] = [m(['put', fileWith('old one')]).out.trim(), m(['put', fileWith('recent one')]).out.trim()];
    const db = new Database(path.join(cache, '.mote', 'index.db'));
    try {
      db.prepare('UPDATE motes SET last_used = ? WHERE digest = ?').run((Date.now() - 31 * 86_400_000) * 1000, old);
      db.prepare('UPDATE motes SET last_used = ? WHERE digest = ?').run((Date.now() - 29 * 86_400_000) * 1000, recent);
    } finally {
      db.close();
    }
    const p = m(['--json', 'prune', '--older-than', '30d']);
    expect(p.code, p.stderr).toBe(0);
    expect(parseJson(p.out)).toEqual({ removed: [old], removedCount: 1, freedBytes: 7, remainingBytes: 10, maxSize: null, olderThanMs: 30 * 86_400_000, linkedCount: 0, linkedBytes: 0 });
    expect(m(['prune', '--older-than', '5w']).out).toBe('removed 0 blobs, freed 0 B, 10 B remaining (unused for 5w)\n'); // 35 days: the 29-day-old one stays
    // No unit (30 meant as days would be seconds) and m/M (minutes or months?) are refused: this option deletes.
    for (const args of [['prune'], ['prune', '--older-than', '30'], ['prune', '--older-than', '6m'], ['prune', '--older-than', '6M'], ['prune', '--older-than', '30 parsecs'], ['prune', '--older-than', '0d'], ['prune', '--older-than', '100000d']]) {
      const r = m(args);
      expect(r.code, args.join(' ')).toBe(ExitCode.Usage);
    }
  });

  it('does nothing when the cache is already under the limit', () => {
    m(['put', fileWith('small')]);
    const p = m(['--json', 'prune', '--max-size', '1G']);
    expect(parseJson(p.out)).toMatchObject({ removed: [], removedCount: 0, freedBytes: 0, remainingBytes: 5 });
  });
});

describe('stdout', () => {
  it('a reader that closes early (EPIPE) ends get quietly with exit 0', async () => {
    const data = randomBytes(32 * 1024 * 1024);
    const digest = m(['put', '-'], { input: data }).out.trim();
    const child = spawn(process.execPath, [MAIN, '--cache', cache, 'get', digest], { env: isolatedEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let received = 0;
    child.stdout.once('data', (c: Buffer) => {
      received = c.length;
      child.stdout.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(received).toBeGreaterThan(0);
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});

describe('SIGINT', () => {
  it('aborts a put waiting on stdin with exit 130 and stores nothing', async () => {
    const dir = path.join(cache, 'interrupted');
    const child = spawn(process.execPath, [MAIN, '--cache', dir, 'put', '-'], { env: isolatedEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    child.stdin.write(randomBytes(64 * 1024));
    // The handler is installed before the cache is opened, so once the cache directory exists it is in place.
    const deadline = Date.now() + 20_000;
    while (!existsSync(dir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(dir)).toBe(true);
    child.kill('SIGINT');
    const code = await closed;
    child.stdin.destroy();
    expect(code).toBe(ExitCode.Interrupted);
    expect(stderr).toMatch(/^mote: ABORT_ERR: /);
    expect(parseJson(mote(['--cache', dir, '--json', 'du']).out)).toMatchObject({ count: 0, bytes: 0 });
  });
});

describe('default cache directory', () => {
  it('prefers $MOTE_CACHE_DIR, then $XDG_CACHE_HOME/motecache, then ~/.cache/motecache', () => {
    const home = '/home/someone';
    expect(defaultCacheDir({ MOTE_CACHE_DIR: '/m', XDG_CACHE_HOME: '/x', HOME: home })).toBe('/m');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x', HOME: home })).toBe(path.join('/x', 'motecache'));
    expect(defaultCacheDir({ HOME: home })).toBe(path.join(home, '.cache', 'motecache'));
  });

  it('treats empty variables as unset and ignores a relative $XDG_CACHE_HOME', () => {
    const home = '/home/someone';
    expect(defaultCacheDir({ MOTE_CACHE_DIR: '', XDG_CACHE_HOME: '', HOME: home })).toBe(path.join(home, '.cache', 'motecache'));
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative/cache', HOME: home })).toBe(path.join(home, '.cache', 'motecache'));
  });

  it('resolves a relative $MOTE_CACHE_DIR against the working directory', () => {
    expect(defaultCacheDir({ MOTE_CACHE_DIR: 'here' }, { cwd: '/work/dir' })).toBe('/work/dir/here');
  });

  it('falls back to the OS home directory when $HOME is unset', () => {
    expect(defaultCacheDir({}, { homedir: () => '/os/home' })).toBe(path.join('/os/home', '.cache', 'motecache'));
  });

  it('--cache wins over the environment', () => {
    expect(resolveCacheDir('/flag', { MOTE_CACHE_DIR: '/m' })).toBe('/flag');
    expect(resolveCacheDir('rel', { MOTE_CACHE_DIR: '/m' }, '/cwd')).toBe('/cwd/rel');
    expect(resolveCacheDir(undefined, { MOTE_CACHE_DIR: '/m' })).toBe('/m');
    expect(() => resolveCacheDir('', { MOTE_CACHE_DIR: '/m' })).toThrow(expect.objectContaining({ code: 'ERR_MOTE_INVALID_ARGUMENT' }));
  });

  it('is what the CLI uses: MOTE_CACHE_DIR, XDG_CACHE_HOME, HOME, and --cache over all of them', () => {
    const base = freshDir('env');
    const moteDir = path.join(base, 'mote-dir');
    const xdg = path.join(base, 'xdg');
    const home = path.join(base, 'home');
    const cases: [NodeJS.ProcessEnv, string][] = [
      [isolatedEnv({ MOTE_CACHE_DIR: moteDir, XDG_CACHE_HOME: xdg, HOME: home }), moteDir],
      [isolatedEnv({ XDG_CACHE_HOME: xdg, HOME: home }), path.join(xdg, 'motecache')],
      [isolatedEnv({ HOME: home }), path.join(home, '.cache', 'motecache')],
    ];
    for (const [env, expected] of cases) {
      const put = mote(['--json', 'put', '-'], { input: `stored in ${expected}`, env });
      expect(put.code, put.stderr).toBe(0);
      const digest = String(parseJson(put.out).digest);
      expect(existsSync(path.join(expected, 'blobs', 'sha256', digest.slice(7)))).toBe(true);
      expect(parseJson(mote(['--json', 'du'], { env }).out).cache).toBe(expected);
    }
    const flagged = path.join(base, 'flag');
    const du = mote(['--cache', flagged, '--json', 'du'], { env: cases[0]![0] });
    expect(parseJson(du.out).cache).toBe(flagged);
  });
});

describe('--json: warnings are JSON too, never plain text', () => {
  /** A cache whose index cannot be opened: the store goes on without it and warns (MOTECACHE_INDEX). */
  function cacheWithBrokenIndex(): string {
    const dir = freshDir('broken-index');
    expect(mote(['--cache', dir, 'du']).code).toBe(0);
    for (const f of readdirSync(path.join(dir, '.mote')).filter((f) => f.startsWith('index.db'))) rmSync(path.join(dir, '.mote', f), { recursive: true });
    mkdirSync(path.join(dir, '.mote', 'index.db'));
    return dir;
  }
  const jsonLines = (text: string): Array<Record<string, unknown>> => text.split('\n').filter((l) => l !== '').map((l) => parseJson(l));

  it('a store warning, with --json before or after the command: one document on stdout, JSON lines on stderr', () => {
    const dir = cacheWithBrokenIndex();
    for (const args of [['--json', '--cache', dir, 'du'], ['--cache', dir, 'du', '--json']]) {
      const r = mote(args);
      expect(r.code, r.stderr).toBe(0);
      expect(parseJson(r.out)).toMatchObject({ count: 0 });
      const lines = jsonLines(r.stderr);
      expect(lines.length, r.stderr).toBeGreaterThan(0);
      expect(lines[0]).toMatchObject({ warning: { code: 'MOTECACHE_INDEX', message: expect.stringContaining('cannot be opened') } });
      expect(r.stderr).not.toContain('(node:');
    }
    // Without --json the warning still reaches a person: one line, as errors are, not Node's two.
    const human = mote(['--cache', dir, 'du']).stderr;
    expect(human).toMatch(/^mote: warning: MOTECACHE_INDEX: .*cannot be opened/m);
    expect(human).not.toContain('(node:');
  });

  it('a failing command: its error and the warnings, all JSON lines', () => {
    const dir = cacheWithBrokenIndex();
    const r = mote(['--json', '--cache', dir, 'get', ZERO_DIGEST]);
    expect(r.code).toBe(ExitCode.NotFound);
    const lines = jsonLines(r.stderr);
    expect(lines.some((l) => (l.warning as { code?: string } | undefined)?.code === 'MOTECACHE_INDEX'), r.stderr).toBe(true);
    expect(lines.filter((l) => 'error' in l)).toEqual([{ error: { code: 'ERR_MOTE_NOT_FOUND', message: expect.any(String) } }]);
  });
});

describe('explicit but empty paths are usage errors, never the default', () => {
  it('--cache "" (in every position and form) exits 2 and creates no cache; an empty $MOTE_CACHE_DIR still means unset', () => {
    const home = freshDir('home');
    const env = isolatedEnv({ HOME: home });
    const defaultDir = path.join(home, '.cache', 'motecache');
    for (const args of [['--cache', '', 'du'], ['du', '--cache', ''], ['--cache=', '--json', 'ls'], ['--cache', '', 'put', '-'], ['--cache', '', 'prune', '--max-size', '0']]) {
      const r = mote(args, { env, input: 'x' });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(ExitCode.Usage);
      expect(r.stderr).toContain('--cache');
      expect(existsSync(defaultDir), args.join(' ')).toBe(false);
    }
    const json = mote(['--json', '--cache', '', 'du'], { env });
    expect(parseJson<{ error: { code: string } }>(json.stderr).error.code).toBe('ERR_MOTE_INVALID_ARGUMENT');
    const du = mote(['--json', 'du'], { env: { ...env, MOTE_CACHE_DIR: '' } });
    expect(du.code, du.stderr).toBe(0);
    expect(parseJson(du.out).cache).toBe(defaultDir);
  });

  it('get -o "" exits 2 and writes nothing to stdout', () => {
    const data = randomBytes(1000);
    expect(m(['put', fileWith(data)]).code).toBe(0);
    const r = m(['get', sha256(data), '-o', '']);
    expect(r.code, r.stderr).toBe(ExitCode.Usage);
    expect(r.stdout.length).toBe(0);
  });
});

describe('progress bars', () => {
  const base = { isTTY: true, json: false, quiet: false, total: PROGRESS_THRESHOLD_BYTES };
  it('show only on a terminal, outside --json and --quiet, for known totals above the threshold', () => {
    expect(progressEnabled(base)).toBe(true);
    expect(progressEnabled({ ...base, isTTY: false })).toBe(false);
    expect(progressEnabled({ ...base, json: true })).toBe(false);
    expect(progressEnabled({ ...base, quiet: true })).toBe(false);
    expect(progressEnabled({ ...base, total: undefined })).toBe(false);
    expect(progressEnabled({ ...base, total: PROGRESS_THRESHOLD_BYTES - 1 })).toBe(false);
    expect(progressEnabled({ ...base, total: 1, threshold: 0 })).toBe(true);
  });

  it('never reach stderr when it is not a terminal', () => {
    const data = randomBytes(PROGRESS_THRESHOLD_BYTES * 2);
    const put = m(['put', '-'], { input: data });
    expect(put.code).toBe(0);
    expect(put.stderr).toBe('');
  });
});
