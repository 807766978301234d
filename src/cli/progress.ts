import { cliProgress } from './bars.js';
import { formatSize } from './size.js';

/** `put` and `get` show a bar only for inputs at least this large; smaller ones finish before a bar is useful. */
export const PROGRESS_THRESHOLD_BYTES = 4 * 1024 * 1024;

export interface ProgressConditions {
  /** Whether stderr (where bars are drawn) is a terminal. */
  isTTY: boolean;
  json: boolean;
  quiet: boolean;
  /** Total bytes the operation will process; `undefined` when unknown (e.g. a pipe on stdin). */
  total: number | undefined;
  /** Minimum total for a bar; default {@link PROGRESS_THRESHOLD_BYTES}. */
  threshold?: number;
}

/** Bars are for people watching a terminal: never in JSON or quiet mode, never for unknown or small totals. */
export function progressEnabled(c: ProgressConditions): boolean {
  if (!c.isTTY || c.json || c.quiet || c.total === undefined) return false;
  return c.total >= (c.threshold ?? PROGRESS_THRESHOLD_BYTES);
}

/** A byte-counting progress display; the disabled one does nothing. */
export interface Progress {
  /** Sets the bytes done so far. */
  update(done: number): void;
  /** Adds to the bytes done. */
  add(bytes: number): void;
  /** Removes the bar from the terminal. Idempotent. */
  stop(): void;
}

const NO_PROGRESS: Progress = { update() {}, add() {}, stop() {} };

/** A bar on stderr labelled `label` counting up to `total` bytes, or a no-op when `enabled` is false. */
export function createProgress(label: string, total: number, enabled: boolean): Progress {
  if (!enabled) return NO_PROGRESS;
  const bar = new (cliProgress().SingleBar)(
    {
      format: '{label} [{bar}] {percentage}% | {done} / {size} | ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
      fps: 10,
    },
    cliProgress().Presets.shades_classic,
  );
  const size = formatSize(total);
  let done = 0;
  let stopped = false;
  bar.start(total, 0, { label, done: formatSize(0), size });
  return {
    update(value) {
      if (stopped) return;
      done = value;
      bar.update(Math.min(done, total), { done: formatSize(done) });
    },
    add(bytes) {
      this.update(done + bytes);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

/** Passes `source` through unchanged, reporting each chunk's length to `progress`. */
export async function* counted(source: AsyncIterable<Uint8Array>, progress: Progress): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    progress.add(chunk.byteLength);
    yield chunk;
  }
}
