import { describe, it, expect } from 'vitest';
import { backoffDelay, decideRetry, isRetryableError, isRetryableStatus, parseRetryAfter, resolveRetryOptions } from '../../src/registry/transport/retry.js';
import { HostBucket, RateLimiter, resolveRateLimit } from '../../src/registry/transport/limiter.js';
import { CUT_INTERVAL_MS, RECOVERY_INTERVAL_MS } from '../../src/registry/options.js';
import { raceSignal, sleep } from '../../src/internal/abort.js';
import { tlsFailureCode } from '../../src/registry/transport/response-errors.js';
import events from 'node:events';
import { execFileSync } from 'node:child_process';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { makeTempDir } from '../helpers/tmp.js';

describe('backoff', () => {
  const o = { baseDelayMs: 250, maxDelayMs: 10_000 };
  it('full jitter: uniformly within [0, base·2^n], capped', () => {
    expect(backoffDelay(0, o, () => 0)).toBe(0);
    expect(backoffDelay(0, o, () => 0.999999)).toBe(249);
    expect(backoffDelay(1, o, () => 0.5)).toBe(250);
    expect(backoffDelay(3, o, () => 0.5)).toBe(1000);
    expect(backoffDelay(10, o, () => 0.999999)).toBe(9999);
    expect(backoffDelay(1000, o, () => 0.5)).toBe(5000);
  });
  it('decideRetry: bounded attempts, Retry-After honoured up to the cap', () => {
    const r = resolveRetryOptions({ maxAttempts: 3, maxRetryAfterMs: 2000 });
    expect(decideRetry(1, undefined, r, () => 0.5)).toEqual({ retry: true, delayMs: 125 });
    expect(decideRetry(2, 1000, r)).toEqual({ retry: true, delayMs: 1000 });
    expect(decideRetry(2, 2001, r)).toEqual({ retry: false, reason: 'retry-after-too-long' });
    expect(decideRetry(3, undefined, r)).toEqual({ retry: false, reason: 'attempts' });
    expect(resolveRetryOptions({ maxAttempts: 0 }).maxAttempts).toBe(5);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2024-01-01T00:00:00Z');
  it('delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('1', now)).toBe(1000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 31 Dec 2023 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(['2', '5'], now)).toBe(2000);
  });
  it('absent or malformed gives undefined', () => {
    for (const v of [undefined, '', '-1', '1.5', 'soon-ish', '12abc']) expect(parseRetryAfter(v as string | undefined, now), String(v)).toBeUndefined();
  });
});

describe('what is retryable', () => {
  it('statuses', () => {
    expect([429, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([200, 400, 401, 403, 404, 416, 501].some(isRetryableStatus)).toBe(false);
  });
  it('connection errors, including wrapped ones; not TLS or usage errors', () => {
    const e = (code: string) => Object.assign(new Error(code), { code });
    expect(isRetryableError(e('ECONNRESET'))).toBe(true);
    expect(isRetryableError(e('UND_ERR_SOCKET'))).toBe(true);
    expect(isRetryableError(new Error('wrapped', { cause: e('ECONNREFUSED') }))).toBe(true);
    expect(isRetryableError(e('UND_ERR_HEADERS_TIMEOUT'))).toBe(true);
    expect(isRetryableError(e('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe(false);
    expect(isRetryableError(e('ENOTFOUND'))).toBe(false);
    expect(isRetryableError(new Error('plain'))).toBe(false);
  });
});

describe('sleep', () => {
  it('an already-aborted signal rejects with AbortError without waiting', async () => {
    await expect(sleep(60_000, AbortSignal.abort())).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });
  it('aborting during the wait rejects at once', async () => {
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });
});

describe('token bucket (time passed in)', () => {
  const cfg = resolveRateLimit({ requestsPerSecond: 10, burst: 3, minRequestsPerSecond: 1 });
  it('defaults', () => {
    expect(resolveRateLimit()).toEqual({ requestsPerSecond: 100, burst: 50, minRequestsPerSecond: 0.5, reserveFraction: 0 });
    for (const bad of [-1, 0, 1, 2, Number.NaN]) expect(resolveRateLimit({ reserveFraction: bad }).reserveFraction).toBe(0);
    expect(resolveRateLimit({ reserveFraction: 0.2 }).reserveFraction).toBe(0.2);
  });
  it('a burst goes through, then requests are spaced at the rate, reserved in order', () => {
    const b = new HostBucket(cfg, 0);
    expect([b.reserve(0), b.reserve(0), b.reserve(0)]).toEqual([0, 0, 0]);
    expect(b.reserve(0)).toBe(100);
    expect(b.reserve(0)).toBe(200);
    // 1 s later: 10 tokens refilled, minus the 2 reserved ahead, capped at the burst.
    expect(b.reserve(1000)).toBe(0);
    expect(b.tokens).toBeLessThanOrEqual(cfg.burst);
  });
  it('refund gives a reserved token back', () => {
    const b = new HostBucket(cfg, 0);
    for (let i = 0; i < 3; i++) b.reserve(0);
    expect(b.reserve(0)).toBe(100);
    b.refund();
    expect(b.reserve(0)).toBe(100);
  });
  it('a 429 halves the rate once per burst, down to the floor', () => {
    const b = new HostBucket(cfg, 0);
    expect(b.on429(0)).toBe(5);
    expect(b.on429(10)).toBeUndefined(); // same burst of 429s
    expect(b.on429(CUT_INTERVAL_MS - 1)).toBeUndefined();
    expect(b.on429(CUT_INTERVAL_MS)).toBe(2.5);
    expect(b.on429(2 * CUT_INTERVAL_MS)).toBe(1.25);
    expect(b.on429(3 * CUT_INTERVAL_MS)).toBe(1);
    expect(b.on429(4 * CUT_INTERVAL_MS)).toBeUndefined(); // at the floor
    expect(b.rate).toBe(1);
  });
  it('recovers ×1.5 per quiet interval back to the configured rate, not beyond', () => {
    const b = new HostBucket(cfg, 0);
    b.on429(0);
    b.on429(CUT_INTERVAL_MS); // 2.5
    let t = CUT_INTERVAL_MS;
    expect(b.onSuccess(t + RECOVERY_INTERVAL_MS - 1)).toBeUndefined(); // not quiet long enough
    const rates: number[] = [];
    for (let i = 1; i <= 6; i++) {
      const r = b.onSuccess(t + i * RECOVERY_INTERVAL_MS);
      if (r !== undefined) rates.push(r);
      expect(b.onSuccess(t + i * RECOVERY_INTERVAL_MS + 1)).toBeUndefined(); // at most one step per interval
    }
    expect(rates).toEqual([3.75, 5.625, 8.4375, 10]);
    expect(b.rate).toBe(10);
  });
  it('RateLimiter reports rate changes and an aborted wait rejects', async () => {
    let now = 0;
    const changes: Array<[string, number]> = [];
    const l = new RateLimiter({ requestsPerSecond: 1, burst: 1, minRequestsPerSecond: 0.25 }, (h, r) => changes.push([h, r]), () => now);
    await l.acquire('h:1');
    l.on429('h:1');
    now = 10_000;
    l.onSuccess('h:1');
    expect(changes).toEqual([
      ['h:1', 0.5],
      ['h:1', 0.75],
    ]);
    await l.acquire('h:1'); // refilled by 10 s: no wait, nothing to abort
    const ac2 = new AbortController();
    const p2 = l.acquire('h:1', ac2.signal);
    ac2.abort();
    await expect(p2).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });
});

/** The error a real TLS client connection to `port` fails with (null if it connected). */
function tlsConnectError(port: number, o: tls.ConnectionOptions = {}): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...o });
    sock.once('secureConnect', () => (sock.destroy(), resolve(null)));
    sock.once('error', (e) => resolve(e));
  });
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

describe('TLS failures are told by error code, never by message (real error shapes)', () => {
  it('a reset during the handshake ("...before secure TLS connection was established") is retryable, not TLS', async () => {
    // Hand-written fake: a server that accepts and resets at once, a fault no real registry produces on demand.
    const server = net.createServer((s) => s.resetAndDestroy());
    const port = await listen(server);
    try {
      const err = await tlsConnectError(port);
      expect(err).not.toBeNull();
      expect(err!.code).toMatch(/^(ECONNRESET|EPIPE)$/);
      expect(tlsFailureCode(err)).toBeUndefined();
      expect(isRetryableError(err)).toBe(true);
      // The message that used to trip the old classifier, with the code of what it is.
      const shaped = Object.assign(new Error('Client network socket disconnected before secure TLS connection was established'), { code: 'ECONNRESET' });
      expect(tlsFailureCode(shaped)).toBeUndefined();
    } finally {
      server.close();
    }
  });

  it('a host name containing "tls" that does not resolve is a DNS failure, not TLS', async () => {
    const err = await dns.lookup('tls-mirror.invalid').then(() => null, (e: NodeJS.ErrnoException) => e);
    expect(err).not.toBeNull();
    expect(err!.message).toContain('tls-mirror.invalid');
    expect(tlsFailureCode(err)).toBeUndefined();
    expect(tlsFailureCode(new Error('wrapped', { cause: err }))).toBeUndefined();
  });

  it('TLS spoken to a plain HTTP server is a TLS failure', async () => {
    const server = http.createServer((_q, r) => r.end('plain'));
    const port = await listen(server);
    try {
      const err = await tlsConnectError(port);
      expect(err).not.toBeNull();
      expect(tlsFailureCode(err)).toMatch(/^(EPROTO|ERR_SSL_)/);
      expect(tlsFailureCode(new Error('fetch failed', { cause: err }))).toBe(tlsFailureCode(err));
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('certificate failures (self-signed, wrong host name) are TLS failures', async (ctx) => {
    const scratch = makeTempDir();
    try {
      const key = path.join(scratch.dir, 'k.pem');
      const cert = path.join(scratch.dir, 'c.pem');
      try {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], { stdio: 'ignore' });
      } catch {
        return ctx.skip();
      }
      const server = tls.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, (s) => s.end());
      server.on('tlsClientError', () => {});
      const port = await listen(server);
      try {
        const selfSigned = await tlsConnectError(port);
        expect(tlsFailureCode(selfSigned)).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
        const wrongName = await tlsConnectError(port, { ca: fs.readFileSync(cert), servername: 'other.example' });
        expect(tlsFailureCode(wrongName)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
        expect(await tlsConnectError(port, { ca: fs.readFileSync(cert) })).toBeNull();
      } finally {
        server.close();
      }
    } finally {
      scratch.cleanup();
    }
  });

  it('codes of the certificate family, and a retryable code anywhere in the chain wins', () => {
    const e = (code: string, cause?: unknown) => Object.assign(new Error('x', cause ? { cause } : undefined), { code });
    for (const c of ['CERT_HAS_EXPIRED', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER']) {
      expect(tlsFailureCode(e(c)), c).toBe(c);
    }
    expect(tlsFailureCode(e('UND_ERR_SOCKET', e('ERR_SSL_WRONG_VERSION_NUMBER')))).toBeUndefined();
    for (const m of ['ssl3_get_record:wrong version number', 'certificate', 'tls handshake']) expect(tlsFailureCode(new Error(m)), m).toBeUndefined();
  });
});

describe('raceSignal', () => {
  it('the first to settle wins; an abort rejects at once with AbortError, a late value is handed to onLate, listeners are removed', async () => {
    const { getEventListeners } = events;
    const ac = new AbortController();
    let resolveSlow!: (v: string) => void;
    const slow = new Promise<string>((r) => (resolveSlow = r));
    const late: string[] = [];
    const p = raceSignal(slow, ac.signal, (v) => late.push(v));
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'ABORT_ERR' });
    resolveSlow('released');
    await slow;
    await Promise.resolve();
    expect(late).toEqual(['released']);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);

    const ac2 = new AbortController();
    await expect(raceSignal(Promise.resolve(7), ac2.signal)).resolves.toBe(7);
    await expect(raceSignal(Promise.reject(new Error('own')), ac2.signal)).rejects.toThrow('own');
    expect(getEventListeners(ac2.signal, 'abort')).toHaveLength(0);
    await expect(raceSignal(Promise.resolve(1), AbortSignal.abort())).rejects.toMatchObject({ code: 'ABORT_ERR' });
  });
});
