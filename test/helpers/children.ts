import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/children/, where the plain .mjs child scripts live (they import the built package from dist/). */
export const CHILDREN_DIR = fileURLToPath(new URL('../children/', import.meta.url));

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningChild {
  child: ChildProcess;
  /** Resolves when the child has exited (never rejects: the test asserts on code/signal). */
  done: Promise<ChildResult>;
  /** Resolves with the first stdout line equal to `line` (rejects if the child exits first). */
  waitForLine(line: string): Promise<void>;
}

const live = new Set<ChildProcess>();

/** SIGKILLs every child started by {@link startChild} that is still running (for afterAll after a failure). */
export function killLiveChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** Sends the go signal (one line on stdin) and closes the child's stdin. */
export function sendGo(c: RunningChild): void {
  c.child.stdin!.end('go\n');
}

/** Starts `node test/children/<script> ...args` with stdin piped (for go-signals) and stdout/stderr collected. */
export function startChild(script: string, args: string[] = [], nodeArgs: string[] = []): RunningChild {
  const child = spawn(process.execPath, [...nodeArgs, path.join(CHILDREN_DIR, script), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const lineWaiters: Array<{ line: string; resolve: () => void; reject: (e: Error) => void }> = [];
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (s: string) => {
    stdout += s;
    const lines = stdout.split('\n');
    for (let i = lineWaiters.length - 1; i >= 0; i--) {
      const w = lineWaiters[i]!;
      if (lines.includes(w.line)) {
        lineWaiters.splice(i, 1);
        w.resolve();
      }
    }
  });
  child.stderr!.on('data', (s: string) => {
    stderr += s;
  });
  child.stdin!.on('error', () => undefined); // a killed child closes its stdin
  live.add(child);
  const done = new Promise<ChildResult>((resolve) => {
    child.on('close', (code, signal) => {
      live.delete(child);
      for (const w of lineWaiters.splice(0)) {
        w.reject(new Error(`child ${script} exited (code ${code}, signal ${signal}) before printing ${w.line}\n${stderr}`));
      }
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    done,
    waitForLine(line: string) {
      if (stdout.split('\n').includes(line)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => lineWaiters.push({ line, resolve, reject }));
    },
  };
}

/** The JSON object a child printed as its last stdout line. */
export function lastJson<T>(r: ChildResult): T {
  const lines = r.stdout.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`child printed no JSON result (code ${r.code}, signal ${r.signal})\nstdout: ${r.stdout.slice(-2000)}\nstderr: ${r.stderr.slice(-4000)}`);
  }
}

/** Polls `probe` every `everyMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function pollUntil<T>(probe: () => T | undefined, timeoutMs: number, what: string, everyMs = 5): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Every regular file under `dir`, relative to it (symlinks and directories are not listed; directories are
 * recursed into).
 */
export function listFilesRecursive(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? path.join(rel, ent.name) : ent.name;
      if (ent.isDirectory()) walk(r);
      else out.push(r);
    }
  };
  walk('');
  return out.sort();
}
