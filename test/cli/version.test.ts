/**
 * `mote version` and `mote --version`: plain by default, `{"version","node","platform"}` with `--json`, the same
 * answer whether main.ts gives it before loading the command tree (`--version` alone or with `--json`) or the
 * command tree does (`--version` with other global options).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MOTE_BIN } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';
import { versionRequest } from '../../src/cli/version.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
const expected = { version: pkg.version, node: process.version, platform: `${process.platform}-${process.arch}` };
const { dir: scratch, cleanup } = makeTempDir('motecache-cli-version-');
afterAll(cleanup);

function mote(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [MOTE_BIN, ...args], { env: { ...process.env, HOME: path.join(scratch, 'home'), MOTE_CACHE_DIR: path.join(scratch, 'cache') }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('mote version', () => {
  it('--version and -V stay plain: the version alone', () => {
    for (const args of [['--version'], ['-V'], ['--cache', scratch, '--version']]) {
      const r = mote(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out).toBe(`${pkg.version}\n`);
      expect(r.err).toBe('');
    }
  });

  it('--version --json (either order, with other options too) prints {"version","node","platform"}', () => {
    for (const args of [['--version', '--json'], ['--json', '--version'], ['--json', '-V'], ['--cache', scratch, '--version', '--json']]) {
      const r = mote(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(JSON.parse(r.out), args.join(' ')).toEqual(expected);
      expect(r.err).toBe('');
    }
  });

  it('the version command: three lines, or the same JSON document with --json', () => {
    const human = mote(['version']);
    expect(human.code).toBe(0);
    expect(human.out).toBe(`version:  ${expected.version}\nnode:     ${expected.node}\nplatform: ${expected.platform}\n`);
    for (const args of [['version', '--json'], ['--json', 'version']]) {
      const r = mote(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(JSON.parse(r.out)).toEqual(expected);
    }
    expect(mote(['version', 'extra']).code).toBe(2);
  });

  it('only --version, -V and --json, once each, are answered before the command tree loads', () => {
    expect(versionRequest(['--version'])).toEqual({ json: false });
    expect(versionRequest(['--json', '-V'])).toEqual({ json: true });
    for (const args of [[], ['--json'], ['--version', '--version'], ['--version', '--cache', 'x'], ['ls', '--version'], ['--version', '--json', '--json']]) {
      expect(versionRequest(args), args.join(' ')).toBeUndefined();
    }
  });
});
