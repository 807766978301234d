/**
 * A real OCI registry for the tests: the Docker distribution registry (`docker-registry` 2.8.2 from Debian),
 * installed when missing and we are root, started on a free loopback port with its storage in a temp dir, with
 * no auth, htpasswd Basic auth, or Bearer tokens from {@link startTokenServer}; stopped by PID. Plus `skopeo`
 * (a real client) to push OCI layouts made by `images.ts`.
 *
 * What the registry served is read from its own access log (stdout, Apache combined format), not from a proxy,
 * so tests can count what actually reached it.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, which } from './net.js';
import { makeTempDir } from './tmp.js';
import { startTokenServer, type TokenServer } from './token-server.js';

/** Tool → Debian package that provides it. */
const TOOLS: Record<string, string> = {
  'docker-registry': 'docker-registry',
  htpasswd: 'apache2-utils',
  skopeo: 'skopeo',
  umoci: 'umoci',
  openssl: 'openssl',
};

let resolved: { reason?: string } | undefined;

/**
 * `undefined` when docker-registry, htpasswd, skopeo, umoci and openssl are usable (installing the missing ones
 * with apt-get when we are root); otherwise why not. Under `MOTE_REQUIRE_SERVICES=1` a missing tool throws.
 */
export function registryUnavailableReason(): string | undefined {
  if (!resolved) {
    const missing = () => Object.keys(TOOLS).filter((t) => !which(t));
    let gone = missing();
    if (gone.length && process.getuid?.() === 0 && which('apt-get')) {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const pkgs = [...new Set(gone.map((t) => TOOLS[t]!))];
      const install = () =>
        spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...pkgs], { env, stdio: 'ignore', timeout: 300_000 });
      if (install().status !== 0) {
        spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 180_000 });
        install();
      }
      gone = missing();
    }
    resolved = gone.length
      ? {
          reason:
            `${gone.join(', ')} not installed and could not be installed (not root, or apt-get failed): ` +
            `apt-get install ${[...new Set(gone.map((t) => TOOLS[t]!))].join(' ')}`,
        }
      : {};
  }
  // CI sets this: there, a missing service must fail the run, not skip the tests that need it.
  if (resolved.reason && process.env.MOTE_REQUIRE_SERVICES === '1') {
    throw new Error(`MOTE_REQUIRE_SERVICES=1 but ${resolved.reason}`);
  }
  return resolved.reason;
}

// Registries still running when the test process exits are killed, so a failed test never leaks a daemon.
const live = new Set<number>();
let exitHookInstalled = false;
function track(pid: number): void {
  live.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of live) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

export interface RegistryRequest {
  method: string;
  /** URI path without the query string. */
  path: string;
  status: number;
}

export interface RegistryHandle {
  /** `127.0.0.1:PORT` */
  host: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Storage root (removed by `stop()`). */
  root: string;
  auth: 'none' | 'basic' | 'token';
  /** The valid credentials when `auth` is not `none`. */
  username?: string;
  password?: string;
  pid: number;
  /** The token server, in token mode. */
  tokenServer?: TokenServer;
  /** Every request the registry served since it became ready, in order, from its own access log. */
  requests(): Promise<RegistryRequest[]>;
  /** GETs of `/v2/NAME/blobs/DIGEST` answered 200 or 206 (of `digest` only, when given). */
  blobGets(digest?: string): Promise<number>;
  /** The registry's own diagnostic log (stderr) so far, for failure messages. */
  log(): string;
  /** Stops the registry (SIGTERM, SIGKILL after 2 s), its token server, and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  auth?: 'none' | 'basic' | 'token';
  /** Default `mote`. */
  username?: string;
  /** Default: random. */
  password?: string;
  /** Token mode: anonymous clients get pull tokens. Default false (anonymous gets no access: 401). */
  anonymousPull?: boolean;
  /** Run as a pull-through cache of another registry (`proxy.remoteurl`); pushes are then refused (405). */
  proxyRemoteUrl?: string;
}

/** `"GET /v2/x/blobs/sha256:… HTTP/1.1" 200 1234` in a combined-format access-log line. */
const ACCESS_LINE = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) /;
const BLOB_PATH = /^\/v2\/.+\/blobs\/([a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)$/;

function yamlString(s: string): string {
  return JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<RegistryHandle> {
  const reason = registryUnavailableReason();
  if (reason) throw new Error(reason);
  const auth = options.auth ?? 'none';
  const username = auth === 'none' ? undefined : (options.username ?? 'mote');
  const password = auth === 'none' ? undefined : (options.password ?? crypto.randomBytes(12).toString('base64url'));
  const { dir, cleanup } = makeTempDir('motecache-registry-');
  const root = path.join(dir, 'storage');
  fs.mkdirSync(root);

  let tokenServer: TokenServer | undefined;
  const authYaml: string[] = [];
  try {
    if (auth === 'basic') {
      // Only bcrypt entries work with distribution; -i reads the password from stdin, keeping it out of argv.
      const r = spawnSync('htpasswd', ['-Bin', username!], { input: password!, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
      fs.writeFileSync(path.join(dir, 'htpasswd'), r.stdout);
      authYaml.push('auth:', '  htpasswd:', '    realm: motecache-test', `    path: ${yamlString(path.join(dir, 'htpasswd'))}`);
    } else if (auth === 'token') {
      tokenServer = await startTokenServer({ users: { [username!]: password! }, anonymousPull: options.anonymousPull ?? false });
      authYaml.push(
        'auth:',
        '  token:',
        `    realm: ${yamlString(tokenServer.realm)}`,
        `    service: ${yamlString(tokenServer.service)}`,
        `    issuer: ${yamlString(tokenServer.issuer)}`,
        `    rootcertbundle: ${yamlString(tokenServer.rootCertBundlePath)}`,
      );
    }
  } catch (err) {
    await tokenServer?.stop();
    cleanup();
    throw err;
  }

  let lastErr = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const config = path.join(dir, 'config.yml');
    fs.writeFileSync(
      config,
      [
        'version: 0.1',
        'log:',
        '  level: info',
        '  formatter: text',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${yamlString(root)}`,
        '  delete:',
        '    enabled: true',
        '  maintenance:',
        '    uploadpurging:',
        '      enabled: false',
        'http:',
        `  addr: ${host}`,
        // A fixed secret silences the startup warning; uploads are signed with it.
        `  secret: ${crypto.randomBytes(16).toString('hex')}`,
        ...authYaml,
        ...(options.proxyRemoteUrl ? ['proxy:', `  remoteurl: ${yamlString(options.proxyRemoteUrl)}`] : []),
        '',
      ].join('\n'),
    );
    const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdoutBuf = '';
    const lines: string[] = [];
    child.stderr!.on('data', (d) => {
      stderr += String(d);
      // Info-level logs grow with every request; keep the tail, which is what a failure message needs.
      if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
    });
    child.stdout!.on('data', (d) => {
      stdoutBuf += String(d);
      const parts = stdoutBuf.split('\n');
      stdoutBuf = parts.pop()!;
      lines.push(...parts);
    });
    let exited = false;
    // 'error' (it could not be spawned) may come without an 'exit': either one ends it.
    const exit = new Promise<void>((resolve) => {
      child.once('exit', () => ((exited = true), resolve()));
      child.once('error', (e) => ((stderr += String(e)), (exited = true), resolve()));
    });
    if (child.pid) track(child.pid);

    let stopped = false;
    const stop = async () => {
      if (stopped) return;
      stopped = true;
      if (!exited && child.pid) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          /* already gone */
        }
        const t = setTimeout(() => {
          try {
            if (!exited && child.pid) process.kill(child.pid, 'SIGKILL');
          } catch {
            /* already gone */
          }
        }, 2000);
        await exit;
        clearTimeout(t);
      }
      if (child.pid) live.delete(child.pid);
      await tokenServer?.stop();
      cleanup();
    };

    // Ready when /v2/ answers at all (401 counts: auth is on).
    const deadline = Date.now() + 10_000;
    let up = false;
    while (!exited && Date.now() < deadline) {
      try {
        const r = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1000) });
        await r.arrayBuffer();
        if (r.status === 200 || r.status === 401) {
          up = true;
          break;
        }
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    if (!up) {
      lastErr = stderr.trim().split('\n').slice(-5).join('\n') || 'no answer on /v2/ within 10 s';
      const inUse = /address already in use/i.test(stderr);
      if (!exited && child.pid) process.kill(child.pid, 'SIGKILL');
      await exit;
      if (child.pid) live.delete(child.pid);
      if (inUse) continue;
      await tokenServer?.stop();
      cleanup();
      throw new Error(`docker-registry did not start: ${lastErr}`);
    }

    // The access log is written after each response, so "everything so far" needs a barrier: a request of our own,
    // marked by a query string nobody else sends, whose log line proves every earlier line is in. Lines up to the
    // first barrier (readiness polls) are ours, not the test's.
    let barriers = 0;
    let skipUntil = 0;
    const barrier = async (): Promise<number> => {
      const mark = `mote-log-barrier=${++barriers}`;
      const r = await fetch(`http://${host}/v2/?${mark}`);
      await r.arrayBuffer();
      const deadline = Date.now() + 5000;
      for (;;) {
        const i = lines.findIndex((l, k) => k >= skipUntil && l.includes(`?${mark} `));
        if (i >= 0) return i;
        if (exited || Date.now() > deadline) throw new Error(`registry access log did not show ${mark}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    skipUntil = (await barrier()) + 1;

    const requests = async (): Promise<RegistryRequest[]> => {
      const end = exited || stopped ? lines.length : await barrier();
      const out: RegistryRequest[] = [];
      for (const line of lines.slice(skipUntil, end)) {
        const m = ACCESS_LINE.exec(line);
        if (!m || m[2]!.includes('?mote-log-barrier=')) continue;
        out.push({ method: m[1]!, path: m[2]!.split('?')[0]!, status: Number(m[3]) });
      }
      return out;
    };

    return {
      host,
      url: `http://${host}`,
      root,
      auth,
      ...(username !== undefined ? { username, password } : {}),
      pid: child.pid!,
      ...(tokenServer ? { tokenServer } : {}),
      requests,
      async blobGets(digest?: string) {
        let n = 0;
        for (const r of await requests()) {
          if (r.method !== 'GET' || (r.status !== 200 && r.status !== 206)) continue;
          const m = BLOB_PATH.exec(r.path);
          if (m && (digest === undefined || m[1] === digest)) n++;
        }
        return n;
      },
      log: () => stderr,
      stop,
    };
  }
  await tokenServer?.stop();
  cleanup();
  throw new Error(`docker-registry did not start after 5 attempts: ${lastErr}`);
}

/** Hides the value after any `--*creds` flag (and `--creds=...`), so passwords never reach an error message. */
function redact(args: string[]): string[] {
  return args.map((a, i) =>
    /^--(?:src-|dest-)?creds=/.test(a)
      ? a.replace(/=.*/, '=***')
      : i > 0 && /^--(?:src-|dest-)?creds$/.test(args[i - 1]!)
        ? '***'
        : a,
  );
}

/** Runs skopeo; throws (with its stderr, credentials redacted) when it fails. */
export function skopeo(args: string[], options: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  const reason = registryUnavailableReason();
  if (reason) return Promise.reject(new Error(reason));
  return new Promise((resolve, reject) => {
    execFile('skopeo', args, { timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const why = (err as { killed?: boolean }).killed ? `timed out after ${options.timeoutMs ?? 120_000} ms` : `exit ${err.code}`;
        reject(new Error(`skopeo ${redact(args).join(' ')} failed (${why}): ${String(stderr).trim()}`));
      } else resolve({ stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `--dest-creds`-style value for the registry's valid credentials, or nothing when it has no auth. */
export function credsArgs(flag: string, registry: RegistryHandle): string[] {
  return registry.auth === 'none' ? [] : [flag, `${registry.username}:${registry.password}`];
}

/**
 * Pushes `oci:LAYOUT:TAG` (every platform of an index) to `docker://HOST/REPO:TAG` over plain HTTP, with the
 * registry's credentials when it has auth. `--preserve-digests` makes skopeo fail rather than recompress or
 * rewrite anything, so what the registry holds has exactly the digests `makeImage` returned.
 */
export async function pushLayout(layoutDir: string, layoutTag: string, registry: RegistryHandle, repoAndTag: string): Promise<void> {
  await skopeo([
    '--insecure-policy',
    'copy',
    '--all',
    '--preserve-digests',
    '--dest-tls-verify=false',
    ...credsArgs('--dest-creds', registry),
    `oci:${layoutDir}:${layoutTag}`,
    `docker://${registry.host}/${repoAndTag}`,
  ]);
}
