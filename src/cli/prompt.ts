/**
 * Interactive prompts on a terminal, as `skopeo login` / `podman login` ask for what the command line did not give:
 * a line read with echo (the username), or without (the password: the terminal is put in raw mode so nothing
 * typed is shown, and restored whatever happens). Bounded: a line longer than {@link MAX_ANSWER_BYTES} is refused,
 * Ctrl-C aborts (exit 130), Ctrl-D or the end of input with nothing typed is an empty answer.
 */
import { AbortError } from '../errors.js';
import { CliError, USAGE_ERROR_CODE } from './output.js';

const MAX_ANSWER_BYTES = 4096;

/** Whether the user can be asked: stdin and stderr are both terminals. */
export function canPrompt(): boolean {
  return process.stdin.isTTY === true && process.stderr.isTTY === true;
}

/**
 * Shows `question` on stderr and reads one line from the terminal; `secret` reads without echo. Every keystroke is
 * handled here (raw mode), so the same code serves both: backspace edits, Enter ends the line.
 */
export function ask(question: string, options: { secret?: boolean; signal?: AbortSignal } = {}): Promise<string> {
  const stdin = process.stdin;
  const echo = options.secret !== true;
  return new Promise<string>((resolve, reject) => {
    let answer = '';
    // Inside an escape sequence (an arrow, Home, Delete key): its characters are the terminal's, not the answer's.
    let escape: 'none' | 'start' | 'csi' = 'none';
    const wasRaw = stdin.isRaw;
    const finish = (err: Error | undefined, value = ''): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      options.signal?.removeEventListener('abort', onAbort);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onAbort = (): void => finish(new AbortError('interrupted'));
    const onEnd = (): void => finish(undefined, answer);
    const onData = (chunk: Buffer | string): void => {
      for (const ch of String(chunk)) {
        if (escape === 'start') {
          escape = ch === '[' || ch === 'O' ? 'csi' : 'none';
          continue;
        }
        if (escape === 'csi') {
          if (ch >= '@' && ch <= '~') escape = 'none'; // the final byte of a control sequence
          continue;
        }
        if (ch === '\u001b') {
          escape = 'start';
          continue;
        }
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish(undefined, answer);
        if (ch === '\u0003') return finish(new AbortError('interrupted'));
        if (ch === '\u007f' || ch === '\b') {
          if (answer.length > 0) {
            answer = [...answer].slice(0, -1).join(''); // a whole character, not half of a surrogate pair
            if (echo) process.stderr.write('\b \b');
          }
          continue;
        }
        if (ch < ' ') continue; // other control characters are not part of a name or password
        answer += ch;
        if (Buffer.byteLength(answer) > MAX_ANSWER_BYTES) return finish(new CliError(USAGE_ERROR_CODE, `an answer longer than ${MAX_ANSWER_BYTES} bytes`));
        if (echo) process.stderr.write(ch);
      }
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // Raw (no echo) before the question shows: what is typed the moment it appears must not be echoed by the
    // terminal's own line discipline, which it would be if the mode changed after.
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.resume();
  });
}
