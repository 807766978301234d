/**
 * Every command's `--help` ends the way skopeo's and crane's do: the global options, examples, the exit codes.
 * Checked over the whole command tree, so a command added without examples fails here.
 */
import { describe, expect, it } from 'vitest';
import { createProgram } from '../../src/cli/program.js';
import { EXAMPLES } from '../../src/cli/help.js';

function helpOf(path: string[]): string {
  const program = createProgram({ signal: new AbortController().signal });
  let command = program;
  for (const name of path) command = command.commands.find((c) => c.name() === name)!;
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
  command.outputHelp();
  return text;
}

describe('help', () => {
  const names = createProgram({ signal: new AbortController().signal }).commands.map((c) => c.name());

  it('covers every command, and every example names a command that exists', () => {
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(EXAMPLES[name]?.length, `no examples for ${name}`).toBeGreaterThan(0);
    for (const [name, lines] of Object.entries(EXAMPLES)) {
      expect(names, `examples for a command that does not exist: ${name}`).toContain(name);
      for (const line of lines) expect(line, line).toMatch(/^(echo .*\| )?mote( --[a-z]+( \S+)?)* /);
      // An example runs the command it is the example of (after any global options).
      for (const line of lines) expect(line.replace(/^echo .*?\| /, '').replace(/^mote( --(cache \S+|[a-z]+))* /, ''), line).toMatch(new RegExp(`^${name}\\b`));
    }
  });

  it.each(names)('mote %s --help shows the global options, its examples and the exit codes', (name) => {
    const text = helpOf([name]);
    expect(text).toMatch(new RegExp(`^Usage: mote ${name} `));
    const global = text.slice(text.indexOf('Global Options:'));
    expect(text).toContain('Global Options:');
    for (const flag of ['--cache <dir>', '--json', '-q, --quiet', '--debug']) expect(global).toContain(flag);
    expect(text).toContain(`Examples:\n  ${EXAMPLES[name]![0]}`);
    expect(text).toMatch(/Exit codes: 0 ok, .*\n[\s\S]*130 interrupted\.\n?$/);
  });
});
