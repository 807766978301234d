import { Command, CommanderError } from 'commander';
import { registerCachedImages } from './commands/cached-images.js';
import { registerCompletion } from './commands/completion.js';
import { registerCopy } from './commands/copy.js';
import { registerCraneCommands } from './commands/crane.js';
import { registerDu } from './commands/du.js';
import { registerGet } from './commands/get.js';
import { registerImages } from './commands/images.js';
import { registerInfo } from './commands/info.js';
import { registerLogin, registerLogout } from './commands/login.js';
import { registerLs } from './commands/ls.js';
import { registerPrune } from './commands/prune.js';
import { registerPull } from './commands/pull.js';
import { registerPut } from './commands/put.js';
import { registerRm } from './commands/rm.js';
import { registerServe } from './commands/serve.js';
import { registerVerify } from './commands/verify.js';
import { registerVersion, VERSION_REQUESTED } from './commands/version.js';
import { registerWarm } from './commands/warm.js';
import { AbortError } from '../errors.js';
import type { Shared } from './context.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { Output, routeWarnings } from './output.js';
import { accessError } from './fs-errors.js';
import { decorateHelp, EXIT_CODES_HELP } from './help.js';
import { formatVersion } from './version.js';

/** The `mote` command tree. Parsing errors surface as thrown `CommanderError`s (see `exitOverride`). */
export function createProgram(shared: Shared): Command {
  const program = new Command('mote')
    .description('content-addressed on-disk blob cache for OCI tooling')
    .option('--cache <dir>', 'cache directory (default: $MOTE_CACHE_DIR, else $XDG_CACHE_HOME/motecache, else ~/.cache/motecache)')
    .option('--json', 'machine-readable output: one JSON document on stdout; errors as {"error":{code,message}}, warnings as {"warning":{...}} lines on stderr')
    .option('-q, --quiet', 'no progress bars or notes on stderr')
    .option('--debug', 'trace every registry request (method, URL without secrets, status, time), retry and credential lookup on stderr')
    .exitOverride()
    // Errors are reported by run(), in the format --json asks for; help and version still print as usual.
    .configureOutput({ outputError: () => {} })
    .showSuggestionAfterError(true)
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);
  registerPut(program, shared);
  registerGet(program, shared);
  registerLs(program, shared);
  registerInfo(program, shared);
  registerRm(program, shared);
  registerPrune(program, shared);
  registerVerify(program, shared);
  registerDu(program, shared);
  registerPull(program, shared);
  registerCopy(program, shared);
  registerImages(program, shared);
  registerCachedImages(program, shared);
  registerCraneCommands(program, shared);
  registerWarm(program, shared);
  registerServe(program, shared);
  registerLogin(program, shared);
  registerLogout(program, shared);
  registerVersion(program, shared);
  registerCompletion(program);
  decorateHelp(program);
  return program;
}

/** Whether `--json` appears among the options (before any `--`); used to format errors raised while parsing. */
function jsonRequested(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

function isBrokenPipe(err: unknown): boolean {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/**
 * Runs `mote` with `argv` (as in `process.argv`: node, script, args...) and resolves to the exit code. Never
 * rejects: failures are reported on stderr. The first SIGINT aborts the running command (exit 130), a second one
 * exits at once.
 */
export async function run(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) controller.abort(new AbortError('SIGINT'));
    else process.exit(ExitCode.Interrupted);
  };
  // A reader that goes away (`mote get … | head`) is not an error worth a message. The listener stays for the
  // life of the process: the error event can come after the command has finished writing.
  let stdoutBroken = false;
  let stdoutFailure: unknown;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    stdoutBroken = true;
    if (err.code !== 'EPIPE') stdoutFailure ??= err;
  });
  process.on('SIGINT', onSigint);

  const program = createProgram({ signal: controller.signal });
  let restoreWarnings: (() => void) | undefined;
  // Decided once the command line is parsed (--json may come after the command), before the command runs.
  program.hook('preAction', (_program, action) => {
    // Warnings as one line in the mode's format (JSON lines, or `mote: warning: …`), never Node's two-line text.
    restoreWarnings ??= routeWarnings(new Output(action.optsWithGlobals<{ json?: boolean }>().json === true, false));
  });
  try {
    await program.parseAsync(argv as string[]);
    if (stdoutFailure === undefined) return ExitCode.Ok;
    throw stdoutFailure;
  } catch (err) {
    if (stdoutBroken && stdoutFailure === undefined && isBrokenPipe(err)) return ExitCode.Ok;
    if (err instanceof CommanderError && err.code === VERSION_REQUESTED) {
      process.stdout.write(`${formatVersion(jsonRequested(argv.slice(2)))}\n`);
      return ExitCode.Ok;
    }
    err = accessError(err); // a raw EACCES/EPERM/EROFS left (a pull's store or destination): typed, one line
    const code = exitCodeFor(err);
    // Commander already printed help or the version; 'commander.help' is help shown for a missing command.
    const printed = err instanceof CommanderError && (err.exitCode === 0 || err.code === 'commander.help');
    if (!printed) {
      const json = program.opts<{ json?: boolean }>().json === true || jsonRequested(argv.slice(2));
      new Output(json, false).error(err);
    }
    return code;
  } finally {
    process.off('SIGINT', onSigint);
    restoreWarnings?.();
  }
}
