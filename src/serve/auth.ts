/**
 * Downstream Basic auth from an htpasswd file: bcrypt entries only (`htpasswd -B`), as distribution accepts.
 * Verified with bcryptjs (pure JS: no native build); a verdict is remembered per credential for a minute, since
 * bcrypt is slow on purpose and a pull makes dozens of requests.
 */
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { InvalidArgumentError } from '../errors.js';

type Bcrypt = { compare(s: string, hash: string): Promise<boolean> };
const VERDICT_TTL_MS = 60_000;
const MAX_VERDICTS = 10_000;

export class Htpasswd {
  readonly #users = new Map<string, string>();
  readonly #verdicts = new Map<string, { ok: boolean; at: number }>();
  readonly #bcrypt: Bcrypt;

  constructor(text: string) {
    for (const [i, raw] of text.split('\n').entries()) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const colon = line.indexOf(':');
      const hash = line.slice(colon + 1);
      if (colon <= 0 || !/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
        throw new InvalidArgumentError(`htpasswd line ${i + 1}: not user:bcrypt-hash (make entries with htpasswd -B)`);
      }
      this.#users.set(line.slice(0, colon), hash);
    }
    if (this.#users.size === 0) throw new InvalidArgumentError('htpasswd: no users');
    this.#bcrypt = createRequire(import.meta.url)('bcryptjs') as Bcrypt;
  }

  /** Whether the `Authorization` header carries a known user's password. */
  async check(authorization: string | undefined): Promise<boolean> {
    const m = /^Basic ([A-Za-z0-9+/=]{1,1000})$/i.exec(authorization ?? '');
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return false;
    const hash = this.#users.get(decoded.slice(0, colon));
    if (!hash) return false;
    const key = crypto.createHash('sha256').update(decoded).digest('hex');
    const now = Date.now();
    const v = this.#verdicts.get(key);
    if (v && now - v.at < VERDICT_TTL_MS) return v.ok;
    const ok = await this.#bcrypt.compare(decoded.slice(colon + 1), hash.replace(/^\$2y\$/, '$2b$'));
    if (this.#verdicts.size >= MAX_VERDICTS) this.#verdicts.clear();
    this.#verdicts.set(key, { ok, at: now });
    return ok;
  }
}
