/** `GET /v2/` (ping) and the tag list of a repository, page by page. */
import { InvalidArgumentError } from '../../errors.js';
import { repositoryScope } from '../auth/authenticator.js';
import { RegistryProtocolError } from '../errors.js';
import { toRepositoryName } from '../names.js';
import { MAX_JSON_BYTES, MAX_TAG_PAGES } from '../options.js';
import { discard, readBody } from '../transport/body.js';
import { header, parseNextLink } from '../transport/headers.js';
import type { Transport } from '../transport/request.js';
import { errorFrom } from '../transport/response-errors.js';
import type { Send } from '../transport/types.js';
import type { RepositoryName, RequestOptions } from '../types.js';

export interface TagsOptions extends RequestOptions {
  /** `n` per page; the client follows `Link: <…>; rel="next"` until the end. */
  pageSize?: number;
}

export interface PingResult {
  /** `Docker-Distribution-API-Version`, when the registry sent one. */
  apiVersion: string | undefined;
}

/** `GET /v2/`: reachable, speaking the API, and (when it asks) authenticated. */
export async function ping(t: Transport, registry: string, options: RequestOptions): Promise<PingResult> {
  const s: Send = { registry, method: 'GET', target: '/v2/', scopes: [], retry: true, signal: options.signal, what: `registry ${registry}` };
  const res = await t.send(s);
  if (res.status !== 200) throw await errorFrom(s, res);
  discard(res.body);
  return { apiVersion: header(res.headers, 'docker-distribution-api-version') };
}

/** Every tag of a repository, following `Link` pagination. */
export async function tags(t: Transport, repo: RepositoryName | string, options: TagsOptions): Promise<string[]> {
  const { registry, repository } = toRepositoryName(repo);
  if (options.pageSize !== undefined && !(Number.isInteger(options.pageSize) && options.pageSize > 0)) {
    throw new InvalidArgumentError(`tags: pageSize must be a positive integer`);
  }
  let target = `/v2/${repository}/tags/list${options.pageSize ? `?n=${options.pageSize}` : ''}`;
  const out: string[] = [];
  const seen = new Set<string>();
  for (let page = 0; page < MAX_TAG_PAGES; page++) {
    const s: Send = {
      registry,
      method: 'GET',
      target,
      scopes: [repositoryScope(repository, 'pull')],
      repository,
      retry: true,
      signal: options.signal,
      what: `tags of ${registry}/${repository}`,
      notFoundCode: 'NAME_UNKNOWN',
    };
    const res = await t.send(s);
    if (res.status !== 200) throw await errorFrom(s, res);
    const buf = await readBody(res, MAX_JSON_BYTES, options.signal, s.what, registry);
    let doc: { tags?: unknown };
    try {
      doc = JSON.parse(buf.toString('utf8')) as { tags?: unknown };
    } catch {
      throw new RegistryProtocolError(`${s.what}: the tag list is not JSON`, { registry, status: res.status });
    }
    // Valid JSON is not necessarily an object: `null`, `[]` or `"x"` would otherwise escape as a TypeError.
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
      throw new RegistryProtocolError(`${s.what}: the tag list is not a JSON object`, { registry, status: res.status });
    }
    if (doc.tags !== null && doc.tags !== undefined && !Array.isArray(doc.tags)) {
      throw new RegistryProtocolError(`${s.what}: "tags" is not a list`, { registry, status: res.status });
    }
    for (const tag of (doc.tags as unknown[] | null | undefined) ?? []) if (typeof tag === 'string') out.push(tag);
    const next = parseNextLink(res.headers.link);
    if (!next) return out;
    const nextUrl = new URL(next, res.url);
    if (nextUrl.origin !== res.url.origin || seen.has(nextUrl.href)) {
      throw new RegistryProtocolError(`${s.what}: bad pagination link`, { registry, status: res.status });
    }
    seen.add(nextUrl.href);
    target = `${nextUrl.pathname}${nextUrl.search}`;
  }
  throw new RegistryProtocolError(`tags of ${registry}/${repository}: too many pages`, { registry });
}
