import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/** A fresh directory under the OS temp dir; removed by the returned cleanup (read-only blobs included). */
export function makeTempDir(prefix = 'motecache-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function randomData(size: number): Buffer {
  return randomBytes(size);
}

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** A Readable that yields `data` in chunks of `chunk` bytes, asynchronously (so a reader can act in between). */
export function chunked(data: Buffer, chunk = 4096): Readable {
  let off = 0;
  return new Readable({
    read() {
      setImmediate(() => {
        if (off >= data.length) return this.push(null);
        this.push(data.subarray(off, off + chunk));
        off += chunk;
      });
    },
  });
}

/** Files currently in the store's temporary folder. */
export function temporaries(root: string): string[] {
  try {
    return fs.readdirSync(path.join(root, '.mote', 'tmp'));
  } catch {
    return [];
  }
}

/**
 * A pid no running process has, for naming the files of a dead owner. Above the kernel's `pid_max`, so it can never
 * be given to a process while the test runs (a just-exited child's pid can be: pids wrap at 32768 here, and a full
 * run spawns thousands of processes). Elsewhere, the pid of a child run to completion.
 */
export function deadPid(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim()) + 1;
  } catch {
    const child = spawnSync(process.execPath, ['-e', '']);
    if (child.pid === undefined) throw new Error('could not spawn a child process');
    return child.pid;
  }
}
