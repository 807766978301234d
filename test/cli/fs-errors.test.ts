/**
 * Filesystem errors through the built CLI: one line each with a code of the CLI's own and its exit code, never
 * Node's errno text or its two-line warnings. A file named on the command line that is not there is a usage error
 * (exit 2, ERR_MOTE_NO_SUCH_FILE); a cache path that is a file cannot hold a cache (exit 2) for every command, the
 * metadata ones included; a cache this user may only read serves every read (without read links, also where it has
 * no `.mote/`), and refuses writes with ERR_MOTE_ACCESS_DENIED (exit 1) naming the cache.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { MOTE_BIN } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

const { dir: scratch, cleanup } = makeTempDir('motecache-cli-fs-');
fs.chmodSync(scratch, 0o755); // traversable by nobody
afterAll(cleanup);
const sha256 = (b: Buffer): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

interface Run {
  code: number | null;
  out: Buffer;
  err: string;
}

/** `mote args…` as root, or as nobody (`asNobody`). */
function mote(args: string[], asNobody = false): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: path.join(scratch, 'home') };
  for (const k of ['MOTE_CACHE_DIR', 'MOTE_CONFIG', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME']) delete env[k];
  const [cmd, argv] = asNobody
    ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, MOTE_BIN, ...args]]
    : [process.execPath, [MOTE_BIN, ...args]];
  const r = spawnSync(cmd as string, argv as string[], { env, cwd: scratch, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr.toString('utf8') };
}

/** Exactly one line on stderr: `mote: CODE: …`, and no Node text. */
function expectOneLine(r: Run, code: string): void {
  const lines = r.err.split('\n').filter((l) => l !== '');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^mote: ${code}: `));
  expect(r.err).not.toContain('(node:');
  expect(r.err).not.toMatch(/\n\s+at /);
}

describe('files named on the command line that are not there: usage errors (exit 2)', () => {
  it('put of a missing file, or of a path through a file; warm --repos; get -o into a missing directory', () => {
    const cache = path.join(scratch, 'cache-missing');
    const aFile = path.join(scratch, 'a-file');
    fs.writeFileSync(aFile, 'x');
    for (const args of [['put', path.join(scratch, 'no-such-file')], ['put', path.join(aFile, 'x')], ['warm', '--once', '--repos', path.join(scratch, 'no-such-list')]]) {
      const r = mote(['--cache', cache, ...args]);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expectOneLine(r, 'ERR_MOTE_NO_SUCH_FILE');
      expect(r.err).toContain(args.at(-1)!);
      const j = mote(['--cache', cache, '--json', ...args]);
      expect(j.code).toBe(2);
      expect(JSON.parse(j.err)).toMatchObject({ error: { code: 'ERR_MOTE_NO_SUCH_FILE' } });
    }
    expect(fs.existsSync(cache)).toBe(false); // the input is checked before the cache is touched

    const digest = mote(['--cache', cache, 'put', aFile]).out.toString().trim();
    const target = path.join(scratch, 'no-such-dir', 'out.bin');
    const r = mote(['--cache', cache, 'get', digest, '-o', target]);
    expect(r.code, r.err).toBe(2);
    expectOneLine(r, 'ERR_MOTE_NO_SUCH_FILE');
    expect(r.err).toContain(path.join(scratch, 'no-such-dir'));
  });
});

describe('a cache path that is a file: exit 2 for every command, the metadata ones too', () => {
  it('ls, get, put, du, prune, verify, tags, inspect, latest and warm refuse it in one line', () => {
    const file = path.join(scratch, 'not-a-cache');
    fs.writeFileSync(file, 'a file');
    const input = path.join(scratch, 'input');
    fs.writeFileSync(input, 'input');
    const runs = [
      ['ls'],
      ['get', sha256(Buffer.from('x'))],
      ['put', input],
      ['du'],
      ['prune', '--max-size', '0'],
      ['verify'],
      ['tags', 'localhost:1/team/app', '--offline'],
      ['inspect', 'localhost:1/team/app:1', '--offline'],
      ['latest', 'localhost:1/team/app', '--offline', '--semver', '*'],
      ['warm', '--once', 'localhost:1/team/app'],
    ];
    for (const args of runs) {
      for (const cache of [file, path.join(file, 'sub')]) {
        const r = mote(['--cache', cache, ...args]);
        expect(r.code, `${args.join(' ')} (${cache}): ${r.err}`).toBe(2);
        expectOneLine(r, 'ERR_MOTE_INVALID_ARGUMENT');
        expect(r.err).toContain(`${cache} cannot hold a cache`);
      }
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('a file');
  });
});

describe('a cache this user may only read (commands run as nobody)', () => {
  let skipReason = '';
  const small = crypto.randomBytes(1000);
  const big = crypto.randomBytes(9 << 20); // past get's synchronous limit: streamed, where a read link would be made
  let full = ''; // a cache a writer has used: .mote/ with its index, root's
  let bare = ''; // an OCI layout with no .mote/ at all (written by another tool, or copied)
  let out = '';

  beforeAll(() => {
    if (process.getuid?.() !== 0) skipReason = 'not root';
    else if (spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']).status !== 0) skipReason = 'setpriv cannot switch to nobody';
    if (skipReason) {
      console.warn(`read-only cache CLI tests SKIPPED: ${skipReason}`);
      return;
    }
    full = path.join(scratch, 'shared');
    for (const [name, data] of [['small', small], ['big', big]] as const) {
      const f = path.join(scratch, name);
      fs.writeFileSync(f, data);
      expect(mote(['--cache', full, 'put', f, '--media-type', `x/${name}`]).code).toBe(0);
    }
    bare = path.join(scratch, 'bare');
    fs.cpSync(full, bare, { recursive: true });
    fs.rmSync(path.join(bare, '.mote'), { recursive: true });
    out = path.join(scratch, 'out');
    fs.mkdirSync(out, { mode: 0o777 });
    fs.chmodSync(out, 0o777);
    const root600 = path.join(scratch, 'root-only');
    fs.writeFileSync(root600, 'secret', { mode: 0o600 });
  });

  for (const which of ['full', 'bare'] as const) {
    it(`reads work (${which === 'full' ? 'a cache with its .mote/' : 'a layout without .mote/'}); warnings are one line`, (ctx: TestContext) => {
      if (skipReason) return ctx.skip();
      const cache = which === 'full' ? full : bare;
      const warningsOnly = (r: Run): void => {
        for (const line of r.err.split('\n').filter((l) => l !== '')) expect(line, r.err).toMatch(/^mote: warning: /);
        expect(r.err).not.toContain('(node:');
        expect(r.err).not.toContain('--trace-warnings');
      };
      const ls = mote(['--cache', cache, 'ls'], true);
      expect(ls.code, ls.err).toBe(0);
      expect(ls.out.toString().trim().split('\n').map((l) => l.split(' ')[0]).sort()).toEqual([sha256(small), sha256(big)].sort());
      warningsOnly(ls);
      const json = mote(['--cache', cache, 'ls', '--json'], true);
      expect(json.code, json.err).toBe(0);
      for (const line of json.err.split('\n').filter((l) => l !== '')) expect(JSON.parse(line)).toHaveProperty('warning');
      const get = mote(['--cache', cache, 'get', sha256(small)], true);
      expect(get.code, get.err).toBe(0);
      expect(get.out.equals(small)).toBe(true);
      warningsOnly(get);
      const target = path.join(out, `${which}.bin`);
      const getBig = mote(['--cache', cache, 'get', sha256(big), '-o', target, '--verify'], true);
      expect(getBig.code, getBig.err).toBe(0);
      expect(fs.readFileSync(target).equals(big)).toBe(true);
      for (const args of [['info', sha256(big)], ['du'], ['verify']]) {
        const r = mote(['--cache', cache, ...args], true);
        expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(0);
        warningsOnly(r);
      }
      const miss = mote(['--cache', cache, 'get', sha256(Buffer.from('absent'))], true);
      expect(miss.code, miss.err).toBe(3);
      if (which === 'bare') expect(fs.existsSync(path.join(bare, '.mote'))).toBe(false);
      else expect(fs.readdirSync(path.join(full, '.mote', 'tmp'))).toEqual([]);
    });

    it(`writes are refused in one line naming the cache (${which})`, (ctx: TestContext) => {
      if (skipReason) return ctx.skip();
      const cache = which === 'full' ? full : bare;
      const input = path.join(out, 'new-input');
      fs.writeFileSync(input, `new ${which}`, { mode: 0o644 });
      for (const args of [['put', input], ['rm', sha256(small)], ['prune', '--max-size', '0']]) {
        const r = mote(['--cache', cache, ...args], true);
        expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(1);
        const errors = r.err.split('\n').filter((l) => l !== '' && !l.startsWith('mote: warning: '));
        expect(errors, r.err).toHaveLength(1);
        expect(errors[0]).toMatch(new RegExp(`^mote: ERR_MOTE_ACCESS_DENIED: the cache ${cache} cannot be written by this user \\(permission denied, `));
        expect(r.err).not.toContain('(node:');
      }
      expect(mote(['--cache', cache, 'get', sha256(small)], true).out.equals(small)).toBe(true); // still there
    });
  }

  it('an input file this user may not read: ERR_MOTE_ACCESS_DENIED, exit 1', (ctx: TestContext) => {
    if (skipReason) return ctx.skip();
    const r = mote(['--cache', path.join(out, 'own-cache'), 'put', path.join(scratch, 'root-only')], true);
    expect(r.code, r.err).toBe(1);
    expectOneLine(r, 'ERR_MOTE_ACCESS_DENIED');
    expect(r.err).toContain(path.join(scratch, 'root-only'));
  });
});
