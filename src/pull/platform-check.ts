/**
 * The check skopeo users expect when they name a platform for an image that has only one: containers/image warns
 * when a single-platform image is not for the platform asked for (the pull still succeeds: the image is what the
 * reference names, and an amd64 image pulled on purpose on an arm64 laptop is common). The platform of a single
 * manifest is in its config, which the pull has just made present in the store, verified.
 */
import fs from 'node:fs';
import { MediaType } from '../oci/media-types.js';
import { formatPlatform, parsePlatform, platformScore, type PlatformSpec } from '../oci/platform.js';
import type { PullWarning } from './types.js';

/** Configs larger than this are not read for the check (an image config is a few KiB; this is not a limit on pulls). */
const MAX_CHECKED_CONFIG_BYTES = 4 << 20;

const IMAGE_CONFIG_TYPES: ReadonlySet<string> = new Set([MediaType.OciConfig, MediaType.DockerConfig]);

/** The `os/arch[/variant]` an image config declares, or undefined when it declares none that parses. */
function configPlatform(bytes: Buffer): PlatformSpec | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined; // not ours to judge here: the config's bytes are verified, its content is the image's business
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const { os, architecture, variant } = doc as { os?: unknown; architecture?: unknown; variant?: unknown };
  if (typeof os !== 'string' || typeof architecture !== 'string' || os === '' || architecture === '') return undefined;
  try {
    return parsePlatform(`${os}/${architecture}${typeof variant === 'string' && variant !== '' ? `/${variant}` : ''}`);
  } catch {
    return undefined;
  }
}

/**
 * A warning when the one image manifest pulled is, by its config, for another platform than `want`. `configPath`
 * is where the store holds the (verified) config; nothing is said for artifacts (another config type), configs
 * that declare no platform, or configs too large to be image configs.
 */
export function platformMismatch(want: PlatformSpec, config: { mediaType: string; size: number }, configPath: string | undefined): PullWarning | undefined {
  if (!IMAGE_CONFIG_TYPES.has(config.mediaType) || config.size > MAX_CHECKED_CONFIG_BYTES || configPath === undefined) return undefined;
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(configPath);
  } catch {
    return undefined;
  }
  const have = configPlatform(bytes);
  if (!have || platformScore(want, have) > 0) return undefined;
  return {
    code: 'MOTE_PLATFORM_MISMATCH',
    message: `the image has one platform, ${formatPlatform(have)}, not ${formatPlatform(want)} as asked: pulled it anyway (as skopeo does)`,
  };
}
