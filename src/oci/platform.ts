/**
 * OCI platforms: parsing `os/arch[/variant]`, the host's platform, and picking the manifest of an index that
 * matches, with the normalisations containerd and Docker apply (aliases such as `x86_64`, default variants such
 * as `arm64` = `arm64/v8`, and ARM variants running older ones).
 */
import os from 'node:os';
import type { Descriptor, Platform } from './descriptor.js';
import { textOf } from '../internal/describe.js';
import { InvalidPlatformError, PlatformNotFoundError } from './errors.js';

/** What `pull` matches against: `os`, `architecture`, and the variant when it matters. */
export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

const COMPONENT_RE = /^[a-z0-9_.-]+$/i;

/** Architecture aliases seen in the wild (uname, Debian, Go), mapped to OCI names; some imply a variant. */
const ARCH_ALIASES: Readonly<Record<string, { architecture: string; variant?: string }>> = {
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
  i386: { architecture: '386' },
  i686: { architecture: '386' },
};

/**
 * `table[key]` only when it is the table's own entry: a component such as `constructor` or `__proto__` must not
 * find what every object inherits (it would become the architecture).
 */
function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/**
 * Parses `os/arch[/variant]` (`linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`). Lowercased; aliases are
 * normalised (`linux/x86_64` → `linux/amd64`, `linux/armhf` → `linux/arm/v7`).
 * @throws InvalidPlatformError
 */
export function parsePlatform(s: string): PlatformSpec {
  if (typeof s !== 'string' || s === '') throw new InvalidPlatformError(textOf(s), 'empty');
  const parts = s.toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3) throw new InvalidPlatformError(s, 'expected os/arch or os/arch/variant');
  for (const p of parts) if (!COMPONENT_RE.test(p)) throw new InvalidPlatformError(s, `bad component ${JSON.stringify(p)}`);
  const [osName, arch, variant] = parts as [string, string, string | undefined];
  const spec: PlatformSpec = { os: osName === 'macos' ? 'darwin' : osName, architecture: arch };
  const alias = own(ARCH_ALIASES, arch);
  if (alias) {
    spec.architecture = alias.architecture;
    if (alias.variant !== undefined && variant === undefined) spec.variant = alias.variant;
  }
  if (variant !== undefined) spec.variant = variant;
  return spec;
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Pick<Platform, 'os' | 'architecture' | 'variant'>): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Node's `process.arch` in OCI terms. */
const NODE_ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  ppc: 'ppc',
  s390x: 's390x',
  s390: 's390',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/** Node's `process.platform` in OCI (Go `GOOS`) terms. */
const NODE_OS: Readonly<Record<string, string>> = {
  linux: 'linux',
  darwin: 'darwin',
  win32: 'windows',
  freebsd: 'freebsd',
  openbsd: 'openbsd',
  netbsd: 'netbsd',
  sunos: 'solaris',
  aix: 'aix',
  android: 'android',
};

/** The platform this process runs on, in OCI terms (`process.arch`/`process.platform` mapped, ARM variant included). */
export function hostPlatform(
  env: { arch?: string; platform?: string; armVersion?: string | number | undefined; endianness?: 'BE' | 'LE' } = {},
): PlatformSpec {
  const nodeArch = env.arch ?? process.arch;
  const nodeOs = env.platform ?? process.platform;
  let architecture = own(NODE_ARCH, nodeArch) ?? nodeArch;
  // Node reports big-endian POWER (AIX) as ppc64 too; only little-endian is ppc64le.
  if (nodeArch === 'ppc64' && (env.endianness ?? os.endianness()) === 'BE') architecture = 'ppc64';
  const spec: PlatformSpec = { os: own(NODE_OS, nodeOs) ?? nodeOs, architecture };
  if (architecture === 'arm64') spec.variant = 'v8';
  if (architecture === 'arm') {
    // The ARM version Node was built for (6 or 7); 7 is by far the most common and the OCI default for arm.
    const v = env.armVersion ?? (process.config.variables as { arm_version?: string | number }).arm_version;
    spec.variant = v !== undefined && /^[5-8]$/.test(String(v)) ? `v${v}` : 'v7';
  }
  return spec;
}

/** The variant an unspecified one stands for: `arm64` is v8, `arm` v7, `amd64` v1; others have none. */
function defaultVariant(architecture: string): string | undefined {
  switch (architecture) {
    case 'arm64':
      return 'v8';
    case 'arm':
      return 'v7';
    case 'amd64':
      return 'v1';
    default:
      return undefined;
  }
}

function normalize(p: { os: string; architecture: string; variant?: string | undefined }): Required<PlatformSpec> {
  const alias = own(ARCH_ALIASES, p.architecture.toLowerCase());
  const architecture = alias?.architecture ?? p.architecture.toLowerCase();
  const variant = (p.variant || alias?.variant || defaultVariant(architecture) || '').toLowerCase();
  return { os: p.os.toLowerCase(), architecture, variant };
}

/** `v7` → 7; undefined for anything else. */
function variantNumber(v: string): number | undefined {
  const m = /^v(\d+)$/.exec(v);
  return m ? Number(m[1]) : undefined;
}

/**
 * How well `have` serves `want`: 0 = not at all, higher = better. Same os and architecture are required. The
 * same (normalised) variant is the best match; for arm and amd64 a lower numbered variant also runs (an arm/v7
 * host runs arm/v6 code; an amd64/v3 host runs v1), ranked by how close it is. Never a higher variant: it may use
 * instructions the host lacks.
 */
export function platformScore(want: PlatformSpec, have: { os: string; architecture: string; variant?: string | undefined }): number {
  const w = normalize(want);
  const h = normalize(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return 0;
  if (w.variant === h.variant) return 1000;
  const wn = variantNumber(w.variant);
  const hn = variantNumber(h.variant);
  if ((w.architecture === 'arm' || w.architecture === 'amd64' || w.architecture === 'arm64') && wn !== undefined && hn !== undefined && hn < wn) {
    return 100 - (wn - hn);
  }
  return 0;
}

/**
 * The manifest of `manifests` (an index's entries) for `want`: the best scoring one (the first among equals).
 * Entries without a platform never match.
 * @throws PlatformNotFoundError listing the platforms the index has.
 */
export function selectManifest(manifests: readonly Descriptor[], want: PlatformSpec): Descriptor {
  let best: Descriptor | undefined;
  let bestScore = 0;
  for (const d of manifests) {
    if (!d.platform || typeof d.platform.os !== 'string' || typeof d.platform.architecture !== 'string') continue;
    const score = platformScore(want, d.platform);
    if (score > bestScore) {
      best = d;
      bestScore = score;
    }
  }
  if (best) return best;
  throw new PlatformNotFoundError(formatPlatform(want), availablePlatforms(manifests));
}

/** Distinct `os/arch[/variant]` of an index's entries, in order; attestation entries (`unknown/unknown`) left out. */
export function availablePlatforms(manifests: readonly Descriptor[]): string[] {
  const seen = new Set<string>();
  for (const d of manifests) {
    const p = d.platform;
    if (!p || typeof p.os !== 'string' || typeof p.architecture !== 'string') continue;
    if (p.os === 'unknown' && p.architecture === 'unknown') continue;
    seen.add(formatPlatform(p));
  }
  return [...seen];
}
