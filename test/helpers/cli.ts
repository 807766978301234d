/**
 * Running the built `mote` (dist/bin/mote.js, the bundle users run) as a child process, with no cache or
 * credential variables from the outside and a private HOME: no test can touch a real cache or login.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MOTE_BIN = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'dist', 'bin', 'mote.js');

export interface MoteRun {
  code: number | null;
  out: string;
  err: string;
}

/** `mote` in `cwd` (HOME = `<cwd>/home`); each run is killed after `timeoutMs`. */
export function moteRunner(cwd: string, timeoutMs = 60_000) {
  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, HOME: path.join(cwd, 'home') };
    for (const k of ['MOTE_CACHE_DIR', 'MOTE_CONFIG', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'REGISTRY_AUTH_FILE', 'DOCKER_CONFIG', 'XDG_RUNTIME_DIR']) delete e[k];
    return e;
  };
  /** Starts `mote args…`: the child, what it has written so far, and its end (exit code and everything it wrote). */
  const start = (args: string[]): { child: ChildProcess; out: () => string; err: () => string; done: Promise<MoteRun> } => {
    const child = spawn(process.execPath, [MOTE_BIN, ...args], { env: env(), cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += String(d)));
    child.stderr!.on('data', (d) => (err += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const done = new Promise<MoteRun>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, out, err });
      });
    });
    return { child, out: () => out, err: () => err, done };
  };
  return { env, start, mote: (args: string[]): Promise<MoteRun> => start(args).done };
}
