/**
 * `mote pull`'s progress on stderr (never in `--json` or `-q` mode: the command decides).
 *
 * On a terminal: an overall bar (bytes, blobs, download speed, ETA) and a bar per blob being downloaded (kind,
 * short digest, bytes, speed, ETA); a finished blob leaves one line (kind, digest, size, time) above the bars.
 *
 * Elsewhere (CI logs, a file): plain lines. One when a download starts, one when a blob is finished (downloaded,
 * or found in the cache), and the overall total every 5 s during the first minute, then every 30 s: a bounded
 * number of lines however long the pull takes.
 */
import type { PullBlobKind, PullProgressEvent } from '../pull/index.js';
import { cliProgress } from './bars.js';
import { formatElapsed } from './duration.js';
import { formatSize } from './size.js';

/** Speeds are measured over this window. */
const SPEED_WINDOW_MS = 5_000;
/** Plain mode: the first {@link FIRST_TOTAL_LINES} total lines come this often, later ones every {@link LATER_TOTAL_LINE_MS}. */
export const TOTAL_LINE_MS = 5_000;
export const LATER_TOTAL_LINE_MS = 30_000;
const FIRST_TOTAL_LINES = 12;
const BAR_WIDTH = 20;

interface Blob {
  kind: PullBlobKind;
  digest: string;
  size: number;
  received: number;
  startedAt: number;
}

interface Count {
  blobs: number;
  bytes: number;
}

/** What a pull's progress events add up to: known, done, in flight, and the download speed. */
export class PullTally {
  readonly startedAt: number;
  readonly #now: () => number;
  readonly #active = new Map<string, Blob>();
  #plan: Count | undefined;
  /** Configs and layers started (stands for the plan until it comes). */
  readonly #started: Count = { blobs: 0, bytes: 0 };
  /** Indexes and manifests finished (the plan counts configs and layers only). */
  readonly #documents: Count = { blobs: 0, bytes: 0 };
  readonly #done: Count = { blobs: 0, bytes: 0 };
  /** Bytes received from the registry so far, and when: the speed's samples. */
  #downloaded = 0;
  #samples: { t: number; bytes: number }[];

  constructor(now: () => number) {
    this.#now = now;
    this.startedAt = now();
    this.#samples = [{ t: this.startedAt, bytes: 0 }];
  }

  /** A blob started and not finished (its `received` follows the events). */
  blob(digest: string): Readonly<Blob> | undefined {
    return this.#active.get(digest);
  }

  /** Takes an event in; returns the blob it finished, with how long it took, if it finished one. */
  apply(e: PullProgressEvent): (Blob & { ms: number; fromCache: boolean }) | undefined {
    const now = this.#now();
    if (e.type === 'plan') {
      this.#plan = { blobs: e.blobs, bytes: e.size };
      return undefined;
    }
    if (e.type === 'start') {
      this.#active.set(e.digest, { kind: e.kind, digest: e.digest, size: e.size, received: 0, startedAt: now });
      if (e.kind === 'config' || e.kind === 'layer') {
        this.#started.blobs++;
        this.#started.bytes += Math.max(0, e.size);
      }
      return undefined;
    }
    const blob = this.#active.get(e.digest);
    if (e.type === 'progress') {
      if (blob && e.received > blob.received) {
        this.#received(e.received - blob.received, now);
        blob.received = e.received;
      }
      return undefined;
    }
    this.#active.delete(e.digest);
    const started = blob ?? { kind: e.kind, digest: e.digest, size: e.size, received: 0, startedAt: now };
    if (e.source === 'registry' && e.size > started.received) this.#received(e.size - started.received, now);
    this.#done.blobs++;
    this.#done.bytes += e.size;
    if (e.kind === 'index' || e.kind === 'manifest') {
      this.#documents.blobs++;
      this.#documents.bytes += e.size;
    }
    return { ...started, size: e.size, received: e.size, ms: now - started.startedAt, fromCache: e.source === 'cache' };
  }

  #received(bytes: number, now: number): void {
    this.#downloaded += bytes;
    this.#samples.push({ t: now, bytes: this.#downloaded });
    // Keep one sample at or before the window's start: the baseline the speed is measured from.
    while (this.#samples.length > 2 && this.#samples[1]!.t <= now - SPEED_WINDOW_MS) this.#samples.shift();
  }

  /** Bytes per second from the registry over the last few seconds (a stall brings it down). */
  speed(): number {
    const now = this.#now();
    const from = now - SPEED_WINDOW_MS;
    let base = this.#samples[0]!;
    for (const s of this.#samples) if (s.t <= from) base = s;
    const span = Math.min(SPEED_WINDOW_MS, now - this.startedAt);
    return span > 0 ? ((this.#downloaded - base.bytes) * 1000) / span : 0;
  }

  /** What the pull needs as far as known: its documents so far, and its configs and layers. */
  total(): Count {
    const rest = this.#plan ?? this.#started;
    return { blobs: this.#documents.blobs + rest.blobs, bytes: this.#documents.bytes + rest.bytes };
  }

  /** Blobs finished, and bytes finished or received. */
  done(): Count {
    let bytes = this.#done.bytes;
    for (const b of this.#active.values()) bytes += b.received;
    return { blobs: this.#done.blobs, bytes };
  }

  /** Milliseconds left at the current speed; undefined while nothing arrives. */
  eta(): number | undefined {
    const speed = this.speed();
    const left = this.total().bytes - this.done().bytes;
    return speed > 0 ? (Math.max(0, left) * 1000) / speed : undefined;
  }

  /** A blob's own speed (bytes per second since it started) and time left at that speed. */
  blobRate(b: Readonly<Blob>): { speed: number; eta: number | undefined } {
    const ms = this.#now() - b.startedAt;
    const speed = ms > 0 ? (b.received * 1000) / ms : 0;
    return { speed, eta: speed > 0 ? (Math.max(0, b.size - b.received) * 1000) / speed : undefined };
  }

  get elapsedMs(): number {
    return this.#now() - this.startedAt;
  }
}

const shortDigest = (d: string): string => d.slice(0, d.indexOf(':') + 13);
const rate = (bytesPerSecond: number): string => `${formatSize(Math.round(bytesPerSecond))}/s`;
const eta = (ms: number | undefined): string => `ETA ${ms === undefined ? '--' : formatElapsed(ms)}`;
const percent = (done: number, total: number): number => (total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 100);

function bar(done: number, total: number): string {
  const full = total > 0 ? Math.min(BAR_WIDTH, Math.floor((done * BAR_WIDTH) / total)) : BAR_WIDTH;
  return `[${'\u2588'.repeat(full)}${'\u2591'.repeat(BAR_WIDTH - full)}]`;
}

/** The total line of plain mode, and the text of the total bar. */
export function totalText(t: PullTally): string {
  const total = t.total();
  const done = t.done();
  return (
    `${formatSize(done.bytes)} of ${formatSize(total.bytes)} (${percent(done.bytes, total.bytes)}%), ` +
    `${done.blobs} of ${total.blobs} blobs, ${rate(t.speed())}, ${eta(t.eta())}, ${formatElapsed(t.elapsedMs)} elapsed`
  );
}

export interface PullProgressOptions {
  /** Where progress goes (stderr). */
  stream: NodeJS.WritableStream;
  /** Bars (a terminal) or plain lines. */
  tty: boolean;
  /** Milliseconds, monotonic; default `performance.now`. */
  now?: () => number;
}

export interface PullProgress {
  onProgress(e: PullProgressEvent): void;
  /** Ends the display (bars cleared, finished lines kept; the plain mode's timer stopped). Idempotent. */
  stop(): void;
}

export function pullProgress(o: PullProgressOptions): PullProgress {
  const tally = new PullTally(o.now ?? (() => performance.now()));
  return o.tty ? ttyProgress(o.stream, tally) : plainProgress(o.stream, tally);
}

/** Plain lines, for logs. */
function plainProgress(stream: NodeJS.WritableStream, tally: PullTally): PullProgress {
  let totals = 0;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    timer = setTimeout(
      () => {
        totals++;
        if (tally.total().blobs > 0) stream.write(`total: ${totalText(tally)}\n`);
        schedule();
      },
      totals < FIRST_TOTAL_LINES ? TOTAL_LINE_MS : LATER_TOTAL_LINE_MS,
    );
    timer.unref();
  };
  schedule();
  return {
    onProgress(e) {
      if (e.type === 'start' && e.source === 'registry') {
        stream.write(`downloading ${e.kind} ${e.digest} (${e.size >= 0 ? formatSize(e.size) : 'size unknown'})\n`);
      }
      const finished = tally.apply(e);
      if (!finished) return;
      const what = `${finished.kind} ${finished.digest} ${formatSize(finished.size)}`;
      if (finished.fromCache) stream.write(`in cache    ${what}\n`);
      else stream.write(`downloaded  ${what} in ${formatElapsed(finished.ms)} (${rate(finished.ms > 0 ? (finished.size * 1000) / finished.ms : 0)})\n`);
    },
    stop() {
      clearTimeout(timer);
    },
  };
}

/** Bars, for a terminal. */
function ttyProgress(stream: NodeJS.WritableStream, tally: PullTally): PullProgress {
  type Line = { line: (maxWidth: number) => string };
  const multi = new (cliProgress().MultiBar)({
    stream,
    hideCursor: true,
    clearOnComplete: true,
    fps: 10,
    format: (_options: unknown, params: { maxWidth: number }, payload: Line) => payload.line(params.maxWidth),
  } as import('cli-progress').Options);
  const fit = (s: string, width: number): string => (s.length < width ? s : s.slice(0, Math.max(0, width - 1)));
  const label = (kind: string, digest: string): string => `${kind.padEnd(8)} ${shortDigest(digest).padEnd(19)}`;
  const bars = new Map<string, import('cli-progress').SingleBar>();
  let total: import('cli-progress').SingleBar | undefined;
  let stopped = false;
  return {
    onProgress(e) {
      if (stopped) return;
      total ??= multi.create(1, 0, {
        line: (w) => {
          const t = tally.total();
          const d = tally.done();
          return fit(`${'total'.padEnd(8)} ${`${d.blobs}/${t.blobs} blobs`.padEnd(19)} ${bar(d.bytes, t.bytes)} ${totalText(tally)}`, w);
        },
      } satisfies Line);
      const finished = tally.apply(e);
      const b = e.type === 'start' && e.source === 'registry' ? tally.blob(e.digest) : undefined;
      if (b) {
        const line = (w: number): string => {
          const r = tally.blobRate(b);
          return fit(
            `${label(b.kind, b.digest)} ${bar(b.received, b.size)} ${String(percent(b.received, b.size)).padStart(3)}% ` +
              `${formatSize(b.received)} / ${b.size >= 0 ? formatSize(b.size) : '?'}, ${rate(r.speed)}, ${eta(r.eta)}`,
            w,
          );
        };
        bars.set(b.digest, multi.create(1, 0, { line } satisfies Line));
      }
      if (!finished) return;
      const how = finished.fromCache ? 'in cache' : `downloaded in ${formatElapsed(finished.ms)}`;
      multi.log(`${label(finished.kind, finished.digest)} ${formatSize(finished.size).padStart(10)}  ${how}\n`);
      const done = bars.get(finished.digest);
      bars.delete(finished.digest);
      // Either redraws at once, writing the line above the bars.
      if (done) multi.remove(done);
      else multi.update();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      // Lines logged since the last frame are written by a frame: draw one before the bars are cleared.
      if (total) multi.update();
      multi.stop();
    },
  };
}
