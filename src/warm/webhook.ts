/**
 * What `POST /notify` accepts: the distribution registry's notification envelope (`{"events":[{action, target:
 * {repository, url, tag}, request: {host}}]}`) and Docker Hub's webhook (`{"repository":{"repo_name"}, "push_data":
 * {"tag"}}`). Each gives the repositories it names, as `host/repository` candidates; anything else is refused.
 */
import { InvalidArgumentError } from '../errors.js';
import { MAX_NAME_LENGTH, isValidRegistryHost, isValidRepository } from '../oci/names.js';

/** The largest notification body read (a registry batches events; a few hundred fit in far less). */
export const MAX_NOTIFY_BYTES = 1 << 20;
const MAX_EVENTS = 1000;

export function repositoriesFromWebhook(body: string): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new InvalidArgumentError('notification: not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InvalidArgumentError('notification: not a JSON object');
  const o = doc as Record<string, unknown>;
  const out = new Set<string>();
  if (Array.isArray(o.events)) {
    for (const e of o.events.slice(0, MAX_EVENTS)) {
      if (typeof e !== 'object' || e === null) continue;
      const { target, request, action } = e as { target?: unknown; request?: unknown; action?: unknown };
      if (action !== undefined && action !== 'push' && action !== 'delete') continue;
      if (typeof target !== 'object' || target === null) continue;
      const repository = (target as { repository?: unknown }).repository;
      if (typeof repository !== 'string' || !isValidRepository(repository)) continue;
      for (const host of [hostOfUrl((target as { url?: unknown }).url), (request as { host?: unknown } | undefined)?.host]) {
        if (typeof host === 'string' && isValidRegistryHost(host) && host.length + 1 + repository.length <= MAX_NAME_LENGTH) out.add(`${host}/${repository}`);
      }
    }
  } else if (typeof o.repository === 'object' && o.repository !== null) {
    const name = (o.repository as { repo_name?: unknown }).repo_name;
    if (typeof name === 'string') {
      const repository = name.includes('/') ? name : `library/${name}`;
      if (isValidRepository(repository) && repository.length <= MAX_NAME_LENGTH - 'docker.io/'.length) out.add(`docker.io/${repository}`);
    }
  } else {
    throw new InvalidArgumentError('notification: neither a registry notification envelope nor a Docker Hub webhook');
  }
  if (out.size === 0) throw new InvalidArgumentError('notification: names no repository');
  return [...out];
}

function hostOfUrl(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  try {
    return new URL(url).host || undefined;
  } catch {
    return undefined;
  }
}
