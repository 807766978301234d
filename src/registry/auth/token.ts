/**
 * The HTTP exchange with a token realm (the Docker token spec, and OAuth2's refresh-token grant for an identity
 * token), sent through the registry's transport: the same connections, retries and TLS policy as every request.
 */
import { RegistryInsecureError, RegistryProtocolError } from '../errors.js';
import { DEFAULT_TOKEN_LIFETIME_S, MAX_ERROR_BODY_BYTES } from '../options.js';
import { readBody } from '../transport/body.js';
import { schemeAllowed } from '../transport/hosts.js';
import type { Transport } from '../transport/request.js';
import { errorFrom } from '../transport/response-errors.js';
import type { Response } from '../transport/types.js';
import type { FetchTokenArgs, TokenResponse } from './authenticator.js';

/** Parses a token endpoint's JSON body. `undefined` if it has no token. */
export function parseTokenResponse(body: unknown): TokenResponse | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const token = typeof b.token === 'string' && b.token ? b.token : typeof b.access_token === 'string' && b.access_token ? b.access_token : undefined;
  if (!token) return undefined;
  const e = typeof b.expires_in === 'number' && Number.isFinite(b.expires_in) && b.expires_in > 0 ? b.expires_in : DEFAULT_TOKEN_LIFETIME_S;
  return { token, expiresIn: e };
}

/** Asks the challenge's realm for a token for `args.scopes`, with the credential if there is one. */
export async function fetchToken(transport: Transport, args: FetchTokenArgs): Promise<TokenResponse> {
  const { challenge, registry, credential, signal } = args;
  let realm: URL;
  try {
    realm = new URL(challenge.params.realm!);
  } catch {
    throw new RegistryProtocolError(`${registry}: the token realm is not a URL`, { registry, status: 401 });
  }
  // Credentials are sent to the realm: plain HTTP only where plain HTTP is allowed at all.
  if (!schemeAllowed(realm, transport.insecure)) {
    throw new RegistryInsecureError(`${registry}: refusing the token realm ${realm.protocol}//${realm.host} (not HTTPS)`, { registry });
  }
  const service = challenge.params.service;
  let res: Response;
  const what = `token for ${registry}`;
  if (credential?.identityToken) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credential.identityToken, client_id: 'motecache' });
    if (service) form.set('service', service);
    if (args.scopes.length) form.set('scope', args.scopes.join(' '));
    res = await transport.send({
      registry,
      method: 'POST',
      target: realm.href,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(form.toString()),
      scopes: [],
      retry: true, // nothing changes on the server: the same refresh token gets a new access token
      noAuth: true,
      signal,
      what,
    });
  } else {
    const u = new URL(realm.href);
    if (service) u.searchParams.set('service', service);
    for (const scope of args.scopes) u.searchParams.append('scope', scope);
    if (credential) u.searchParams.set('account', credential.username);
    const headers: Record<string, string> = {};
    if (credential) headers.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`, 'utf8').toString('base64')}`;
    res = await transport.send({ registry, method: 'GET', target: u.href, headers, scopes: [], retry: true, noAuth: true, signal, what });
  }
  if (res.status !== 200) throw await errorFrom({ registry, method: 'GET', target: '', scopes: [], retry: false, what }, res, credential ? 'the token server refused the credentials' : undefined);
  // A token answer is small: a larger one fails here saying so, not later as "no token".
  const buf = await readBody(res, MAX_ERROR_BODY_BYTES, signal, what, registry);
  let doc: unknown;
  try {
    doc = JSON.parse(buf.toString('utf8'));
  } catch {
    doc = undefined;
  }
  const token = parseTokenResponse(doc);
  if (!token) throw new RegistryProtocolError(`${what}: the token server's answer has no token`, { registry, status: res.status });
  return token;
}
