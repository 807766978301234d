/**
 * `--src-creds` / `--dest-creds` (skopeo's `USER:PASSWORD`): the client reads credentials from an auth file
 * only, so these are written, with what `--authfile` holds, into a private temporary auth file (mode 0600 in a
 * 0700 directory) that exists only while the command runs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';

export interface GivenCreds {
  registry: string;
  creds: string;
  flag: string;
}

export async function withCredentials<T>(authFile: string | undefined, given: readonly GivenCreds[], run: (authFile: string | undefined) => Promise<T>): Promise<T> {
  if (given.length === 0) return run(authFile);
  let doc: { auths?: Record<string, unknown> } = {};
  if (authFile !== undefined) {
    try {
      doc = JSON.parse(await fs.promises.readFile(authFile, 'utf8')) as typeof doc;
    } catch (err) {
      throw new InvalidArgumentError(`--authfile ${authFile}: ${(err as Error).message}`);
    }
  }
  const auths: Record<string, unknown> = { ...(doc.auths ?? {}) };
  for (const { registry, creds, flag } of given) {
    const colon = creds.indexOf(':');
    if (colon <= 0) throw new InvalidArgumentError(`${flag} must be USER:PASSWORD`);
    auths[registry] = { auth: Buffer.from(creds).toString('base64') };
  }
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'mote-creds-'));
  try {
    const file = path.join(dir, 'auth.json');
    await fs.promises.writeFile(file, JSON.stringify({ ...doc, auths }), { mode: 0o600 });
    return await run(file);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
