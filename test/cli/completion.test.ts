/**
 * `mote completion bash|zsh|fish`: scripts made from the command tree, checked by the real shells: each parses
 * (`-n`), and bash and fish complete commands, options and paths as a user would see them (bash through the
 * function it registers, fish through `complete -C`). zsh's completion system needs a terminal to run; its script
 * is checked for syntax and for naming every command.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProgram } from '../../src/cli/program.js';
import { MOTE_BIN } from '../helpers/cli.js';
import { which } from '../helpers/net.js';
import { makeTempDir } from '../helpers/tmp.js';

const { dir: scratch, cleanup } = makeTempDir('motecache-completion-');
afterAll(() => cleanup());
const commands = createProgram({ signal: new AbortController().signal }).commands.map((c) => c.name());

function script(shell: string): string {
  return execFileSync(process.execPath, [MOTE_BIN, 'completion', shell], { encoding: 'utf8', env: { ...process.env, HOME: scratch } });
}

/** CI installs every shell (.ci/run); elsewhere a missing one skips with a message. */
function shellMissing(shell: string): string | undefined {
  if (which(shell)) return undefined;
  if (process.env.MOTE_REQUIRE_SERVICES === '1') throw new Error(`MOTE_REQUIRE_SERVICES=1 but ${shell} is not installed`);
  return `${shell} is not installed`;
}

describe.each(['bash', 'zsh', 'fish'])('mote completion %s', (shell) => {
  const missing = shellMissing(shell);

  it.skipIf(missing)('parses in the real shell and names every command', () => {
    const text = script(shell);
    const file = path.join(scratch, `mote.${shell}`);
    fs.writeFileSync(file, text);
    const r = spawnSync(shell, ['-n', file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    for (const c of commands) expect(text, c).toMatch(new RegExp(`(^|[\\s'(])${c}[):\\s']`));
  });
});

describe.skipIf(shellMissing('bash'))('bash completes', () => {
  /** What `_mote` offers for the words typed so far (the last one being completed). */
  function complete(...words: string[]): string[] {
    const file = path.join(scratch, 'mote.bash');
    fs.writeFileSync(file, script('bash'));
    const program = `source ${JSON.stringify(file)}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(' ')}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _mote; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync('bash', ['-c', program], { encoding: 'utf8', cwd: scratch }).split('\n').filter((l) => l !== '');
  }

  it('commands, also after a global option and its value; options of the command and the global ones; paths for file values', () => {
    expect(complete('mote', 'pu')).toEqual(['put', 'pull']);
    expect(complete('mote', '--cache', '/tmp', 'pr')).toEqual(['prune']);
    expect(complete('mote', 'pull', '--pl')).toEqual(['--platform']);
    expect(complete('mote', '--json', 'prune', '--')).toEqual(['--max-size', '--older-than', '--cache', '--json', '--quiet', '--debug', '--version', '--help']);
    fs.writeFileSync(path.join(scratch, 'auth-file.json'), '{}');
    expect(complete('mote', 'pull', 'x', '--authfile', 'auth-f')).toEqual(['auth-file.json']);
    expect(complete('mote', 'pull', '--platform', '')).toEqual([]); // a platform: nothing to offer, not files
    fs.writeFileSync(path.join(scratch, 'my auth.json'), '{}');
    expect(complete('mote', 'pull', 'x', '--authfile', 'my')).toEqual(['my auth.json']); // one name, not two words
  });
});

describe.skipIf(shellMissing('zsh'))('zsh registers', () => {
  // Completing needs zsh's line editor (a terminal); registering does not: sourced after compinit, as a user's
  // .zshrc does (`source <(mote completion zsh)`), the script must hand mote to its function.
  it('sourced after compinit, mote is completed by its function', () => {
    const file = path.join(scratch, 'mote.zsh');
    fs.writeFileSync(file, script('zsh'));
    const program = `autoload -U compinit && compinit -u -D; source ${JSON.stringify(file)}; print -r -- "\${_comps[mote]}"; whence -w _mote`;
    const out = execFileSync('zsh', ['-f', '-c', program], { encoding: 'utf8', cwd: scratch, env: { ...process.env, HOME: scratch, ZDOTDIR: scratch } });
    expect(out).toBe('_mote\n_mote: function\n');
  });
});

describe.skipIf(shellMissing('fish'))('fish completes', () => {
  function complete(line: string): string[] {
    const file = path.join(scratch, 'mote.fish');
    fs.writeFileSync(file, script('fish'));
    const out = execFileSync('fish', ['-c', `source ${JSON.stringify(file)}; complete -C${JSON.stringify(line)}`], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t')[0]!);
  }

  it('commands with their descriptions, a command\'s options, global options', () => {
    expect(complete('mote pu')).toEqual(['pull', 'put']);
    expect(complete('mote pull --pla')).toEqual(['--platform']);
    expect(complete('mote --js')).toEqual(['--json']);
    expect(complete('mote prune --older')).toEqual(['--older-than']);
  });
});

it('an unknown shell is a usage error (exit 2) naming the choices', () => {
  const r = spawnSync(process.execPath, [MOTE_BIN, 'completion', 'tcsh'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/ERR_MOTE_USAGE: .*bash, zsh, fish/);
});
