/**
 * `--debug`: what `mote` does on the wire, on stderr, one line per event, as skopeo's `--debug` does for
 * containers/image: every registry request (method, URL with credentials and signed query strings taken out,
 * status, time, attempt), each retry and why, rate limiting, and where credentials came from (an auth file, or the
 * credential helper and the file naming it; never the credential). Headers are never shown: they carry tokens.
 * In `--json` mode each line is `{"debug":{...}}`, so stderr stays JSON lines.
 */
import type { RegistryEvent } from '../registry/types.js';

export type DebugLog = (e: RegistryEvent) => void;

/** One event as a human reads it. */
export function formatRegistryEvent(e: RegistryEvent): string {
  switch (e.type) {
    case 'response':
      return `${e.method} ${e.url} -> ${e.status} (${Math.round(e.durationMs)} ms${e.attempt > 1 ? `, attempt ${e.attempt}` : ''})`;
    case 'retry':
      return `retry ${e.method} ${e.url} in ${Math.round(e.delayMs)} ms (attempt ${e.attempt} failed: ${e.reason})`;
    case 'rate-limit':
      return `rate limit for ${e.host}: now ${e.requestsPerSecond} requests/s`;
    case 'credential':
      return `credentials for ${e.registry}: ${e.source ?? 'none found (anonymous)'}`;
    case 'mirror-fallback':
      return `mirror ${e.mirror} of ${e.registry} failed (${e.reason}): asking the next`;
  }
}

/** The `--debug` log for the mode (undefined when off). Lines are written whole, so they never interleave mid-line. */
export function debugLog(enabled: boolean, json: boolean, stream: NodeJS.WritableStream = process.stderr): DebugLog | undefined {
  if (!enabled) return undefined;
  return json
    ? (e) => void stream.write(`${JSON.stringify({ debug: e })}\n`)
    : (e) => void stream.write(`mote: debug: ${formatRegistryEvent(e)}\n`);
}
