/**
 * `mote tags`, `mote inspect`, `mote latest`: answered from the image metadata cache (`--store`, default SQLite
 * under the cache root), fetched from the registry and stored on a miss; `--refresh` fetches anyway, `--offline`
 * never contacts a registry.
 */
import type { Command } from 'commander';
import type { ImageInfo, RepositoryState } from '../../images/types.js';
import type { ImageMetadataCache, ReadOptions } from '../../images/cache.js';
import type { PolicySpec } from '../../images/policy.js';
import { commandContext, type CommandContext, type Shared } from '../context.js';
import { addRegistryOptions, clientOptions, type RegistryCliOptions } from '../registry-options.js';
import { formatSize } from '../size.js';
import { registryArgument } from '../transport.js';

interface CacheCliOptions extends RegistryCliOptions {
  store?: string;
  offline?: boolean;
  refresh?: boolean;
}

function addCacheOptions(command: Command): Command {
  return addRegistryOptions(command)
    .option('--store <spec>', 'metadata store: sqlite:PATH, redis://HOST:PORT or memcached://HOST:PORT (default: SQLite in the cache)')
    .option('--offline', 'answer from the metadata cache only; never contact a registry')
    .option('--refresh', 'ask the registry even if the metadata cache has an answer');
}

/** Opens the store (and, unless offline, a registry client), runs `fn`, closes both. */
async function withMetadata<T>(ctx: CommandContext, opts: CacheCliOptions, fn: (cache: ImageMetadataCache, read: ReadOptions) => Promise<T>): Promise<T> {
  const [{ openImageMetadataStore }, { ImageMetadataCache }] = await Promise.all([import('../../metadata/spec.js'), import('../../images/cache.js')]);
  const client = opts.offline ? undefined : new (await import('../../registry/client.js')).RegistryClient(clientOptions(opts, ctx));
  try {
    const store = await openImageMetadataStore(opts.store, ctx.cacheDir);
    try {
      const cache = new ImageMetadataCache({ store, ...(client && { client }) });
      return await fn(cache, { signal: ctx.signal, ...(opts.offline && { offline: true }), ...(opts.refresh && { refresh: true }) });
    } finally {
      await store.close();
    }
  } finally {
    await client?.close();
  }
}

function sortedTags(state: RepositoryState): string[] {
  const collator = new Intl.Collator('en', { numeric: true });
  return Object.keys(state.tags).sort((a, b) => collator.compare(a, b));
}

function describeImage(name: string, tag: string | undefined, info: ImageInfo): string[] {
  const lines = [`Name:      ${name}`];
  if (tag !== undefined) lines.push(`Tag:       ${tag}`);
  lines.push(`Digest:    ${info.digest}`, `MediaType: ${info.mediaType}`);
  if (info.createdAt) lines.push(`Created:   ${info.createdAt}`);
  if (info.platforms.length > 0) lines.push(`Platforms: ${info.platforms.map((p) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`).join(', ')}`);
  lines.push(`Size:      ${formatSize(info.size)}`);
  const labels = Object.entries(info.labels);
  if (labels.length > 0) lines.push('Labels:', ...labels.map(([k, v]) => `  ${k}=${v}`));
  if (info.layers.length > 0) lines.push('Layers:', ...info.layers.map((l) => `  ${l.digest} ${formatSize(l.size)}`));
  return lines;
}

export function registerImages(program: Command, shared: Shared): void {
  addCacheOptions(program.command('tags').description('list the tags of a repository (like skopeo list-tags)').argument('<repository>', 'e.g. registry.example.com/team/app (or docker://…)')).action(
    async (repository: string, opts: CacheCliOptions, command: Command) => {
      const ctx = commandContext(command, shared);
      const name = registryArgument(repository, 'repository');
      const state = await withMetadata(ctx, opts, (cache, read) => cache.getRepository(name, read));
      const tags = sortedTags(state);
      // Times in --json are ISO 8601 strings, as in every command.
      const lastError = state.lastError && { ...state.lastError, at: new Date(state.lastError.at).toISOString() };
      ctx.out.result({ repository: state.repository, tags, lastUpdate: new Date(state.lastUpdate).toISOString(), ...(lastError && { lastError }) }, () => tags);
    },
  );

  addCacheOptions(
    program
      .command('inspect')
      .description('what an image is: digest, created, labels, platforms, layers (like skopeo inspect)')
      .argument('<reference>', 'repository:tag or repository@digest (or docker://…)'),
  ).action(async (reference: string, opts: CacheCliOptions, command: Command) => {
    const ctx = commandContext(command, shared);
    const { parseReference } = await import('../../reference/index.js');
    const ref = parseReference(registryArgument(reference));
    const repo = { registry: ref.registry, repository: ref.repository };
    const info = await withMetadata(ctx, opts, (cache, read) =>
      ref.digest !== undefined ? cache.getImageByDigest(repo, ref.digest, read) : cache.getImage(repo, ref.tag ?? 'latest', read),
    );
    const tag = ref.digest === undefined ? (ref.tag ?? 'latest') : undefined;
    ctx.out.result({ name: ref.name, ...(tag !== undefined && { tag }), ...info, lastFetched: new Date(info.lastFetched).toISOString() }, () =>
      describeImage(ref.name, tag, info),
    );
  });

  addCacheOptions(
    program
      .command('latest')
      .description('the latest tag of a repository by a policy (semver range, alphabetical, numerical, newest created)')
      .argument('<repository>', 'e.g. registry.example.com/team/app (or docker://…)')
      .option('--semver <range>', "the highest version in a semver range, e.g. '^1.2'")
      .option('--alphabetical [order]', 'by byte order, as Flux: asc (default) selects the last (z), desc the first (a)')
      .option('--numerical [order]', 'by number, as Flux: asc (default) selects the largest, desc the smallest')
      .option('--created', 'the tag whose image was created last')
      .option('--filter-tags <regex>', 'consider only tags matching this regular expression')
      .option('--filter-extract <template>', 'compare this instead of the tag: $1, $name (groups of --filter-tags)'),
  ).action(async (repository: string, opts: CacheCliOptions & PolicySpec, command: Command) => {
    const ctx = commandContext(command, shared);
    const { latestTag } = await import('../../images/latest.js');
    const name = registryArgument(repository, 'repository');
    const answer = await withMetadata(ctx, opts, (cache, read) => latestTag(cache, name, opts, read));
    ctx.out.result(answer, () => [answer.digest ? `${answer.tag} ${answer.digest}` : answer.tag]);
  });
}
