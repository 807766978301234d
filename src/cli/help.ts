/**
 * What every command's `--help` ends with, as skopeo's and crane's do: the global options (`--cache`, `--json`,
 * `-q`, `--debug`, shown by commander with `showGlobalOptions`), a few examples that run as written, and the exit
 * codes scripts may switch on. Kept in one table so a new command cannot ship without examples (a test checks).
 */
import type { Command } from 'commander';

/** The exit codes, as `mote --help` and every command's help show them (see exit-codes.ts for the full table). */
export const EXIT_CODES_HELP =
  'Exit codes: 0 ok, 1 other failure, 2 usage (bad flag, digest or size, unusable credentials config), 3 not found,\n' +
  '4 integrity (digest/size mismatch, corrupt blobs found by verify), 5 no space,\n' +
  '6 registry refused credentials or access (or a credential helper failed), 7 registry unreachable, unavailable,\n' +
  'rate limited or too slow (or pull --timeout passed), 130 interrupted.';

/** Examples per command name: each line a command a user can paste (`#` comments say what it does). */
export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  put: [
    'mote put layer.tar.gz --media-type application/vnd.oci.image.layer.v1.tar+gzip',
    'mote put - --digest sha256:… < blob        # stored only if the bytes hash to it (else exit 4)',
  ],
  get: ['mote get sha256:… -o layer.tar.gz', 'mote get sha256:… --verify | tar -tz   # re-hash on the way out'],
  ls: ['mote ls', 'mote ls --json | jq -r \'.[].digest\''],
  info: ['mote info sha256:…', 'mote info sha256:… --json'],
  rm: ['mote rm sha256:… sha256:…'],
  prune: [
    'mote prune --max-size 10GiB',
    'mote prune --older-than 30d             # what nobody used for 30 days, whatever the size',
    'mote prune --max-size 0 --json          # empty it; says what layouts still link',
  ],
  verify: ['mote verify            # re-hash every blob, evict the corrupt ones (exit 4 if any)'],
  du: ['mote du', 'mote --cache /srv/mote du --json'],
  pull: [
    'mote pull docker.io/library/alpine:3.20 --to oci:./alpine',
    'mote pull registry.example.com/app:1.0 --to oci-archive:app.tar --platform linux/arm64',
    'mote --debug pull localhost:5000/team/app:1.0 --to oci:./app --insecure localhost:5000',
    'mote pull registry.example.com/app:1.0 --to oci:./app --offline   # a tag pulled before; no network',
  ],
  copy: [
    'mote copy docker://registry.example.com/app:1.0 docker://mirror.example.com/app:1.0',
    'mote copy docker://registry.example.com/app:1.0 oci:./app:1.0 --dest-compress zstd --all',
  ],
  manifest: ['mote manifest docker.io/library/alpine:3.20 | jq .mediaType', 'mote manifest registry.example.com/app:1.0 --platform linux/arm64'],
  config: ['mote config registry.example.com/app:1.0 | jq .config.Env', 'mote config docker.io/library/alpine:3.20 --platform linux/arm64 --offline'],
  digest: [
    'mote digest registry.example.com/app:1.0',
    'mote digest registry.example.com/app:1.0 --full-ref --platform linux/amd64',
    'mote digest registry.example.com/app:1.0 --offline   # as a pull or an inspection last resolved the tag',
  ],
  images: [
    'mote images   # each tag mote pull, manifest, config or digest resolved',
    'mote images --all --json   # also tags whose manifest was pruned since (present: false)',
  ],
  tags: ['mote tags registry.example.com/team/app', 'mote tags docker://docker.io/library/alpine --offline --json'],
  inspect: ['mote inspect registry.example.com/team/app:1.0', 'mote inspect registry.example.com/team/app:1.0 --refresh --json'],
  latest: ['mote latest registry.example.com/team/app --semver \'^1.2\'', 'mote latest registry.example.com/team/app --filter-tags \'^main-\' --created'],
  warm: ['mote warm registry.example.com/team/app --once', 'mote warm --repos repos.txt --listen 127.0.0.1:9090 --interval 5m'],
  serve: ['mote serve --upstream https://registry-1.docker.io --max-size 20GiB', 'mote serve --config serve.yaml'],
  login: ['echo "$TOKEN" | mote login registry.example.com -u me --password-stdin', 'mote login --get-login registry.example.com'],
  logout: ['mote logout registry.example.com', 'mote logout --all'],
  version: ['mote version', 'mote version --json'],
  completion: [
    'mote completion bash > ~/.local/share/bash-completion/completions/mote',
    'mote completion zsh > "${fpath[1]}/_mote"',
    'mote completion fish > ~/.config/fish/completions/mote.fish',
  ],
};

/**
 * Shows the global options in every command's help and appends its examples and the exit codes. Run once the
 * command tree is complete.
 */
export function decorateHelp(program: Command): void {
  for (const command of program.commands) {
    // Per command: commander copies help settings to a command when it is made, and these are made already.
    command.configureHelp({ ...command.configureHelp(), showGlobalOptions: true });
    const examples = EXAMPLES[command.name()] ?? [];
    const text = examples.length > 0 ? `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}\n` : '';
    command.addHelpText('after', `${text}\n${EXIT_CODES_HELP}`);
  }
}
