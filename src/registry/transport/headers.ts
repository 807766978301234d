/**
 * Reading what a registry says in headers and error bodies: one value of a header, `Link` pagination,
 * `Content-Range`, the `Docker-Content-Digest` claim, and the `{"errors": [...]}` document.
 */
import { parseDigest, type DigestAlgorithm } from '../../digest/index.js';
import { RegistryProtocolError } from '../errors.js';
import { MAX_REGISTRY_MESSAGE_CHARS } from '../options.js';
import type { Headers, Response } from './types.js';

/** The (first) value of a header; names are lowercase, as undici gives them. */
export const header = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** `Link: <url>; rel="next"` → the URL. */
export function parseNextLink(link: string | string[] | undefined): string | undefined {
  for (const value of link === undefined ? [] : Array.isArray(link) ? link : [link]) {
    for (const part of value.split(/,(?=\s*<)/)) {
      const m = /^\s*<([^>]*)>(.*)$/.exec(part);
      if (m && /;\s*rel="?next"?/i.test(m[2]!)) return m[1];
    }
  }
  return undefined;
}

/**
 * `Content-Range: bytes a-b/total` (total may be `*`). A number of 2^53 or more has no exact double: it is no
 * parse, rather than a rounded value that could pass for the range asked for.
 */
export function parseContentRange(v: string | undefined): { start: number; end: number; total: number | undefined } | undefined {
  const m = v && /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim());
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? undefined : Number(m[3]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || (total !== undefined && !Number.isSafeInteger(total))) return undefined;
  return { start, end, total };
}

/**
 * The registry's `Docker-Content-Digest` claim, parsed (`undefined` when it sent none). A claim that is not a digest
 * is a protocol error: it is never passed on, only compared with what the bytes hash to.
 */
export function contentDigestClaim(res: Response, what: string, registry: string): { digest: string; algorithm: DigestAlgorithm } | undefined {
  const dcd = header(res.headers, 'docker-content-digest');
  if (!dcd) return undefined;
  try {
    return { digest: dcd, algorithm: parseDigest(dcd).algorithm };
  } catch (err) {
    throw new RegistryProtocolError(`${what}: Docker-Content-Digest is not a digest`, { registry, status: res.status, cause: err });
  }
}

/** Parses `{"errors":[{code,message,detail}]}`; the first error's code and message. */
export function parseErrorBody(buf: Buffer | undefined): { code?: string; message?: string } {
  if (!buf || buf.length === 0) return {};
  try {
    const doc = JSON.parse(buf.toString('utf8')) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = Array.isArray(doc?.errors) ? doc.errors[0] : undefined;
    return {
      ...(typeof first?.code === 'string' ? { code: first.code } : {}),
      ...(typeof first?.message === 'string' ? { message: first.message.slice(0, MAX_REGISTRY_MESSAGE_CHARS) } : {}),
    };
  } catch {
    return {};
  }
}
