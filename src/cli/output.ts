import { CommanderError } from 'commander';

/** Error code the CLI uses for command-line syntax errors (unknown flag, missing argument, ...). */
export const USAGE_ERROR_CODE = 'ERR_MOTE_USAGE';
/** Error code the CLI uses when `verify` found (and evicted) corrupt motes. */
export const CORRUPT_ERROR_CODE = 'ERR_MOTE_CORRUPT';

/** An error the CLI raises itself, with a stable code like the library's errors. */
export class CliError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'CliError';
  }
}

export interface ErrorDescription {
  code: string;
  message: string;
}

/** The stable code and a one-line message for any thrown value. */
export function describeError(err: unknown): ErrorDescription {
  if (err instanceof CommanderError) {
    return { code: USAGE_ERROR_CODE, message: oneLine(err.message.replace(/^error:\s*/i, '')) };
  }
  if (err instanceof Error) {
    const raw = (err as { code?: unknown }).code;
    const code = typeof raw === 'string' && raw !== '' ? raw : err.name === 'AbortError' ? 'ABORT_ERR' : 'ERR_MOTE_FAILURE';
    // Node system errors repeat their code at the front of the message ("ENOENT: no such file ...").
    const message = err.message.startsWith(`${code}: `) ? err.message.slice(code.length + 2) : err.message;
    return { code, message: oneLine(message || err.name) };
  }
  return { code: 'ERR_MOTE_FAILURE', message: oneLine(String(err)) };
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Node's own printing of process warnings (`(node:PID) [CODE] Warning: …` and a `--trace-warnings` hint: two lines)
 * is replaced by one line through `out`: `{"warning":{"code","name","message"}}` in JSON mode (nothing on stderr is
 * plain text there), `mote: warning: CODE: message` otherwise, like errors. Returns a function putting Node's
 * printing back (after pending warnings, emitted on a later tick, have been delivered).
 */
export function routeWarnings(out: Output): () => void {
  const previous = process.listeners('warning');
  for (const l of previous) process.off('warning', l);
  const onWarning = (w: Error): void => out.warning(w);
  process.on('warning', onWarning);
  return () => {
    setImmediate(() => {
      process.off('warning', onWarning);
      for (const l of previous) process.on('warning', l);
    });
  };
}

/**
 * Where a command's results go. In JSON mode a command writes exactly one JSON document to stdout (via
 * {@link Output.result}), errors go to stderr as `{"error":{"code":...,"message":...}}` and warnings as
 * `{"warning":{...}}` lines (see {@link routeWarnings}); in human mode results
 * are plain lines on stdout, notes go to stderr (unless quiet), and errors are `mote: CODE: message` on stderr.
 */
export class Output {
  constructor(
    readonly json: boolean,
    readonly quiet: boolean,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** The command's result: `doc` as one JSON line in JSON mode, else the lines `human()` returns. */
  result(doc: unknown, human: () => string | string[]): void {
    if (this.json) {
      this.stdout.write(`${JSON.stringify(doc)}\n`);
      return;
    }
    const lines = human();
    const text = Array.isArray(lines) ? lines.join('\n') : lines;
    if (text !== '') this.stdout.write(`${text}\n`);
  }

  /** A human-only line on stdout, for output that streams (e.g. `ls`). Ignored in JSON mode. */
  line(text: string): void {
    if (!this.json) this.stdout.write(`${text}\n`);
  }

  /** A note for humans on stderr; dropped in JSON and quiet modes. */
  note(text: string): void {
    if (!this.json && !this.quiet) this.stderr.write(`mote: ${text}\n`);
  }

  /** A process warning (`process.emitWarning`: the store's, a dependency's) as one line on stderr, in the mode's format. */
  warning(w: Error): void {
    const code = (w as { code?: unknown }).code;
    if (!this.json) {
      this.stderr.write(`mote: warning: ${typeof code === 'string' ? `${code}: ` : ''}${oneLine(w.message)}\n`);
      return;
    }
    const doc = { warning: { ...(typeof code === 'string' && { code }), name: w.name, message: oneLine(w.message) } };
    this.stderr.write(`${JSON.stringify(doc)}\n`);
  }

  /** Reports a failure on stderr in the mode's format. */
  error(err: unknown): void {
    const { code, message } = describeError(err);
    if (this.json) this.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
    else this.stderr.write(`mote: ${code}: ${message}\n`);
  }
}
