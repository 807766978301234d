/**
 * `mote login` on a terminal asks for what the command line did not give, as skopeo and podman do: nothing when
 * the stored credentials still work, else the username (the stored one offered) and the password without echo.
 * The terminal is real: `script` (util-linux, in every Debian) runs mote on a pseudo-terminal, and the test types
 * each answer only once its prompt is shown, as a user would.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOTE_BIN } from '../helpers/cli.js';
import { which } from '../helpers/net.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason() ?? (which('script') ? undefined : 'script (util-linux) is not installed');
const { dir: scratch, cleanup } = makeTempDir('motecache-login-prompt-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);

interface Session {
  /** Everything the terminal showed so far. */
  screen: () => string;
  /** Resolves once the screen shows `text` (after what was already awaited). */
  waitFor: (text: string) => Promise<void>;
  type: (text: string) => void;
  done: Promise<number | null>;
}

/** `mote args…` on a pseudo-terminal, with a private HOME and runtime dir. */
function terminal(args: string[], home: string): Session {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_RUNTIME_DIR: path.join(home, 'run'), TERM: 'dumb' };
  for (const k of ['MOTE_CACHE_DIR', 'MOTE_CONFIG', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'REGISTRY_AUTH_FILE', 'DOCKER_CONFIG']) delete env[k];
  fs.mkdirSync(path.join(home, 'run'), { recursive: true });
  const command = [process.execPath, MOTE_BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let seen = 0;
  const waiters: { text: string; resolve: () => void }[] = [];
  const check = (): void => {
    for (const w of [...waiters]) {
      const at = screen.indexOf(w.text, seen);
      if (at === -1) continue;
      seen = at + w.text.length;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  child.stdout.on('data', (d) => {
    screen += String(d);
    check();
  });
  child.stderr.on('data', (d) => (screen += String(d)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const done = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      for (const w of waiters) w.resolve(); // the assertions on the screen then say what was missing
      resolve(code);
    }),
  );
  return {
    screen: () => screen,
    waitFor: (text) => new Promise<void>((resolve) => {
      waiters.push({ text, resolve });
      check();
    }),
    type: (text) => void child.stdin.write(text),
    done,
  };
}

describe.skipIf(reason)('mote login on a terminal', () => {
  let reg: RegistryHandle;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'basic' });
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
    cleanup();
  });

  it('asks for the username and the password (not echoed), stores them; then, logged in, asks nothing', async () => {
    const home = fresh('home');
    const first = terminal(['login', reg.host], home);
    await first.waitFor('Username: ');
    first.type(`${reg.username}\r`);
    await first.waitFor('Password: ');
    first.type(`${reg.password}\r`);
    expect(await first.done, first.screen()).toBe(0);
    expect(first.screen()).toContain('Login Succeeded!');
    expect(first.screen()).not.toContain(reg.password!);
    const file = path.join(home, 'run', 'containers', 'auth.json');
    expect(Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as { auths: object }).auths)).toEqual([reg.host]);

    const again = terminal(['login', reg.host], home);
    expect(await again.done, again.screen()).toBe(0);
    expect(again.screen()).toContain(`Already logged in to ${reg.host}`);
    expect(again.screen()).not.toContain('Username');

    // Only the password missing: only it is asked for.
    const password = terminal(['login', reg.host, '-u', reg.username!], home);
    await password.waitFor('Password: ');
    // Arrow keys send escape sequences: they move nothing here, and are no part of the password.
    password.type(`${reg.password}\u001b[D\u001b[C\u001bOA\r`);
    expect(await password.done, password.screen()).toBe(0);
    expect(password.screen()).not.toContain('Username');
  });

  it('offers the stored username when the stored password no longer works; a wrong password exits 6, storing nothing', async () => {
    const home = fresh('home');
    const file = path.join(home, 'run', 'containers', 'auth.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const stale = { auths: { [reg.host]: { auth: Buffer.from(`${reg.username}:old-password`).toString('base64') } } };
    fs.writeFileSync(file, JSON.stringify(stale));
    const s = terminal(['login', reg.host], home);
    await s.waitFor(`Username (${reg.username}): `);
    s.type('\r'); // take the offered one
    await s.waitFor('Password: ');
    s.type('wrong-one\r');
    expect(await s.done, s.screen()).toBe(6);
    expect(s.screen()).toContain('ERR_REGISTRY_AUTH');
    expect(s.screen()).not.toContain('wrong-one');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toEqual(stale);
  });

  it('Ctrl-C at a prompt exits 130 and leaves the terminal as it was', async () => {
    const s = terminal(['login', reg.host], fresh('home'));
    await s.waitFor('Username: ');
    s.type('\u0003');
    expect(await s.done, s.screen()).toBe(130);
  });
});
