// Shared bits for the child scripts. Children import the BUILT package (dist/), like a real consumer would.
import { Readable } from 'node:stream';

export * from '../../dist/index.js';

/** Waits for the parent's go signal: any byte on stdin (then lets go of stdin, so it cannot keep us alive). */
export function waitForGo() {
  return new Promise((resolve) => {
    process.stdin.once('data', () => {
      process.stdin.destroy();
      resolve();
    });
  });
}

/** A Readable that yields `data` in `chunk`-byte slices, one per macrotask, so concurrent work interleaves. */
export function chunked(data, chunk = 64 * 1024) {
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

export function errorInfo(err) {
  return { name: err?.name, code: err?.code, message: String(err?.message ?? err).slice(0, 500) };
}

export function report(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
}
