/**
 * The requests of an upload session: open it (POST), send bytes to its `Location` (PATCH, PUT), cancel it
 * (DELETE). Every `Location` the registry hands out is held to the same scheme policy as a redirect.
 */
import type { Readable } from 'node:stream';
import { repositoryScope } from '../auth/authenticator.js';
import { RegistryInsecureError, RegistryProtocolError } from '../errors.js';
import { discard } from '../transport/body.js';
import { header } from '../transport/headers.js';
import { mayFollow } from '../transport/hosts.js';
import type { Transport } from '../transport/request.js';
import { errorFrom } from '../transport/response-errors.js';
import type { Headers, Response, Send } from '../transport/types.js';

/** An upload session (of a push or a mount): the repository it is in, its signal, and what its requests say in errors. */
export interface Session {
  t: Transport;
  registry: string;
  repository: string;
  signal: AbortSignal | undefined;
  what: string;
}

/** The session URL of the final PUT, which names the digest the registry must find. */
export const withDigest = (u: URL, digest: string): URL => {
  const v = new URL(u.href);
  v.searchParams.set('digest', digest);
  return v;
};

/** Starts an upload session: the absolute `Location` to send the bytes to. */
export async function startUpload(session: Session, query: string, extraScopes: string[] = []): Promise<{ status: number; location: URL | undefined }> {
  const { registry, repository } = session;
  const s: Send = {
    registry,
    method: 'POST',
    target: `/v2/${repository}/blobs/uploads/${query}`,
    headers: { 'content-length': '0' },
    scopes: [repositoryScope(repository, 'pull,push'), ...extraScopes],
    repository,
    retry: false,
    signal: session.signal,
    what: session.what,
  };
  const res = await session.t.send(s);
  if (res.status !== 202 && res.status !== 201) throw await errorFrom(s, res);
  discard(res.body);
  return { status: res.status, location: uploadLocation(session.t, s, res) };
}

/**
 * An upload session's `Location`, held to the same scheme policy as redirects: the bytes and the credentials
 * that follow it must not go over plain HTTP to a host where plain HTTP is not allowed.
 */
function uploadLocation(t: Transport, s: Send, res: Response): URL | undefined {
  const loc = header(res.headers, 'location');
  if (!loc) return undefined;
  let u: URL;
  try {
    u = new URL(loc, res.url);
  } catch {
    throw new RegistryProtocolError(`${s.what}: unparsable upload Location`, { registry: s.registry, status: res.status });
  }
  if (!mayFollow(res.url, u, t.insecure)) {
    throw new RegistryInsecureError(`${s.what}: refusing an upload Location on ${u.protocol}//${u.host}`, { registry: s.registry, status: res.status });
  }
  return u;
}

export async function cancelUpload(session: Session, location: URL): Promise<void> {
  const { registry, repository } = session;
  try {
    const res = await session.t.send({
      registry,
      method: 'DELETE',
      target: location.href,
      scopes: [repositoryScope(repository, 'pull,push')],
      repository,
      retry: false,
      what: `upload to ${registry}/${repository}`,
    });
    discard(res.body);
  } catch {
    /* best effort: the registry expires abandoned sessions */
  }
}

/** Sends one upload request to a session `Location`; returns the next `Location`. */
export async function uploadRequest(
  session: Session,
  method: 'PATCH' | 'PUT',
  location: URL,
  body: Buffer | Readable,
  headers: Record<string, string>,
  expect: number,
): Promise<{ location: URL | undefined; headers: Headers }> {
  const s: Send = {
    registry: session.registry,
    method,
    target: location.href,
    headers,
    body,
    scopes: [repositoryScope(session.repository, 'pull,push')],
    repository: session.repository,
    // Not retried: a chunk the server may have taken cannot safely be sent again without asking where it is.
    retry: false,
    signal: session.signal,
    what: session.what,
  };
  const res = await session.t.send(s);
  if (res.status !== expect) throw await errorFrom(s, res);
  discard(res.body);
  return { location: uploadLocation(session.t, s, res), headers: res.headers };
}
