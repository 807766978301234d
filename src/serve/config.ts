/**
 * The `mote serve --config FILE` file (YAML or JSON; see docs/serve.md): upstreams with their credentials, and
 * the server's settings. Command-line flags override what the file says.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { InvalidArgumentError } from '../errors.js';
import type { UpstreamSpec } from './upstream.js';

export interface ServeConfig {
  listen?: string;
  cache?: string;
  maxSize?: string | number;
  tagMaxAgeSeconds?: number;
  immutableTags?: string[];
  htpasswd?: string;
  tls?: { cert: string; key: string };
  upstreams?: UpstreamSpec[];
}

const KEYS = new Set(['listen', 'cache', 'maxSize', 'tagMaxAgeSeconds', 'immutableTags', 'htpasswd', 'tls', 'upstreams']);
const UPSTREAM_KEYS = new Set(['url', 'prefix', 'host', 'default', 'authFile']);

export function loadServeConfig(file: string): ServeConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`--config ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = /\.json$/i.test(file) ? JSON.parse(text) : (createRequire(import.meta.url)('yaml') as { parse(s: string): unknown }).parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`--config ${file}: not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  return checkConfig(doc, file);
}

function checkConfig(doc: unknown, file: string): ServeConfig {
  const bad = (why: string): InvalidArgumentError => new InvalidArgumentError(`--config ${file}: ${why}`);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('the top level must be a mapping');
  const c = doc as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!KEYS.has(k)) throw bad(`unknown key ${JSON.stringify(k)} (known: ${[...KEYS].join(', ')})`);
  for (const k of ['listen', 'cache', 'htpasswd'] as const) if (c[k] !== undefined && typeof c[k] !== 'string') throw bad(`${k} must be a string`);
  if (c.maxSize !== undefined && typeof c.maxSize !== 'string' && typeof c.maxSize !== 'number') throw bad('maxSize must be a size (10GiB) or a number of bytes');
  if (c.tagMaxAgeSeconds !== undefined && (typeof c.tagMaxAgeSeconds !== 'number' || !(c.tagMaxAgeSeconds >= 0))) throw bad('tagMaxAgeSeconds must be a number >= 0');
  if (c.immutableTags !== undefined && (!Array.isArray(c.immutableTags) || !c.immutableTags.every((x) => typeof x === 'string'))) throw bad('immutableTags must be a list of globs');
  if (c.tls !== undefined) {
    const t = c.tls as Record<string, unknown>;
    if (typeof t !== 'object' || t === null || typeof t.cert !== 'string' || typeof t.key !== 'string') throw bad('tls needs cert and key (file paths)');
  }
  if (c.upstreams !== undefined) {
    if (!Array.isArray(c.upstreams)) throw bad('upstreams must be a list');
    for (const [i, u] of (c.upstreams as unknown[]).entries()) {
      if (typeof u !== 'object' || u === null) throw bad(`upstreams[${i}] must be a mapping`);
      for (const k of Object.keys(u)) if (!UPSTREAM_KEYS.has(k)) throw bad(`upstreams[${i}]: unknown key ${JSON.stringify(k)}`);
      const r = u as Record<string, unknown>;
      if (typeof r.url !== 'string') throw bad(`upstreams[${i}].url is required`);
      for (const k of ['prefix', 'host', 'authFile'] as const) if (r[k] !== undefined && typeof r[k] !== 'string') throw bad(`upstreams[${i}].${k} must be a string`);
      if (r.default !== undefined && typeof r.default !== 'boolean') throw bad(`upstreams[${i}].default must be true or false`);
    }
  }
  return c as ServeConfig;
}
