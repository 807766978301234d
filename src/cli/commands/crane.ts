/**
 * crane's inspection commands, with crane's names: `mote manifest`, `mote config`, `mote digest`. They read through
 * the cache like a pull (documents fetched once, verified, kept; a tag recorded as a pull records it, so `--offline`
 * and `mote images` know it) and print what the registry serves, byte for byte, so their output pipes into `jq`,
 * `sha256sum` or another tool as crane's.
 */
import type { Command } from 'commander';
import type { InspectedDocument, InspectOptions } from '../../pull/inspect.js';
import { commandContext, type CommandContext, type Shared } from '../context.js';
import { addRegistryOptions, clientOptions, type RegistryCliOptions } from '../registry-options.js';
import { registryArgument } from '../transport.js';

interface InspectCliOptions extends RegistryCliOptions {
  platform?: string;
  offline?: boolean;
  fullRef?: boolean;
}

/** `platformDefault`: the configuration's platform is a default where the command picks one anyway (`config`). */
function inspectOptions(ctx: CommandContext, opts: InspectCliOptions, platformDefault = false): InspectOptions {
  const platform = opts.platform ?? (platformDefault ? ctx.config.platform : undefined);
  if (opts.offline) return { cache: ctx.cacheDir, signal: ctx.signal, offline: true, ...(platform !== undefined && { platform }) };
  const { insecure, authFile, onEvent, mirrors } = clientOptions(opts, ctx);
  return {
    cache: ctx.cacheDir,
    signal: ctx.signal,
    ...(platform !== undefined && { platform }),
    ...(insecure && { insecure }),
    ...(authFile !== undefined && { authFile }),
    ...(onEvent && { onRegistryEvent: onEvent }),
    ...(mirrors && { mirrors }),
  };
}

/** The read's warnings on stderr, in the mode's format: stdout carries the document alone. */
function warn(ctx: CommandContext, doc: InspectedDocument): void {
  for (const w of doc.warnings) ctx.out.warning(Object.assign(new Error(w.message), { code: w.code, name: 'Warning' }));
}

function command(program: Command, name: string, description: string, platformHelp: string): Command {
  return addRegistryOptions(
    program
      .command(name)
      .description(description)
      .argument('<reference>', 'image reference, e.g. registry.example.com/repo:tag, …@sha256:… or docker://…')
      .option('--platform <os/arch[/variant]>', platformHelp),
  ).option('--offline', 'contact no registry: a digest, or a tag as the cache last resolved it (mote images); missing: exit 3');
}

export function registerCraneCommands(program: Command, shared: Shared): void {
  command(program, 'manifest', 'print the manifest (or index) of an image as the registry serves it (as crane manifest)', 'for an index: print that platform\'s manifest instead').action(
    async (reference: string, opts: InspectCliOptions, cmd: Command) => {
      const ctx = commandContext(cmd, shared);
      const { fetchImageManifest } = await import('../../pull/inspect.js');
      const doc = await fetchImageManifest(registryArgument(reference), inspectOptions(ctx, opts));
      warn(ctx, doc);
      // The bytes as served, in both modes: they are one JSON document already (their digest is the manifest's).
      process.stdout.write(doc.bytes);
    },
  );
  command(program, 'config', 'print the config blob of an image (as crane config)', 'for an index: that platform\'s config (default: this host\'s)').action(
    async (reference: string, opts: InspectCliOptions, cmd: Command) => {
      const ctx = commandContext(cmd, shared);
      const { fetchImageConfig } = await import('../../pull/inspect.js');
      const doc = await fetchImageConfig(registryArgument(reference), inspectOptions(ctx, opts, true));
      warn(ctx, doc);
      process.stdout.write(doc.bytes);
    },
  );
  command(program, 'digest', 'print the digest of an image\'s manifest (as crane digest)', 'for an index: the digest of that platform\'s manifest')
    .option('--full-ref', 'print registry/repository@digest')
    .action(async (reference: string, opts: InspectCliOptions, cmd: Command) => {
      const ctx = commandContext(cmd, shared);
      const { fetchImageManifest } = await import('../../pull/inspect.js');
      const { parseReference } = await import('../../reference/index.js');
      const ref = parseReference(registryArgument(reference));
      const doc = await fetchImageManifest(ref, inspectOptions(ctx, opts));
      warn(ctx, doc);
      const full = `${ref.registry}/${ref.repository}@${doc.descriptor.digest}`;
      ctx.out.result(
        { reference: doc.reference, digest: doc.descriptor.digest, mediaType: doc.descriptor.mediaType, size: doc.descriptor.size, ...(doc.platform !== undefined && { platform: doc.platform }), fullRef: full },
        () => (opts.fullRef ? full : doc.descriptor.digest),
      );
    });
}
