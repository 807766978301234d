/**
 * In-process single flight for fetches: every caller in this process that would do the very same download joins
 * one flight instead of starting its own (across processes, the fetch lock does the same job).
 */
import { callSafely } from '../../internal/listeners.js';
import type { StoreContext } from '../file/context.js';
import type { MoteProvider } from '../roles.js';
import type { FetchProgress } from './types.js';

interface Flight {
  promise: Promise<void>;
  listeners: Set<(e: FetchProgress) => void>;
  /** The stores (instances) that asked: each records the write in its own index. */
  contexts: Set<StoreContext>;
}

const flights = new Map<string, Flight>();
const sourceIds = new WeakMap<object, number>();
let nextSourceId = 1;

function sourceId(source: MoteProvider): number {
  let id = sourceIds.get(source);
  if (id === undefined) sourceIds.set(source, (id = nextSourceId++));
  return id;
}

/**
 * Joins the flight for (blob path, source, durability), or starts it with `run`. Callers share a flight only when
 * they would do the very same download: the same blob path, the same source (an instance whose source lacks the
 * mote must not fail one whose source has it) and the same durability (a durable caller must get its fsyncs).
 * `run` resolves with the media type when this process published the blob, and every store that joined records
 * it in its own index. A listener that throws is ignored.
 */
export function joinFlight(
  ctx: StoreContext,
  source: MoteProvider,
  digest: string,
  onProgress: ((e: FetchProgress) => void) | undefined,
  run: (notify: (e: FetchProgress) => void) => Promise<string | undefined>,
): Promise<void> {
  const key = `${ctx.paths.blobPath(digest)}\n${sourceId(source)}\n${ctx.durable ? 'durable' : 'fast'}`;
  let flight = flights.get(key);
  if (!flight) {
    const listeners = new Set<(e: FetchProgress) => void>();
    const contexts = new Set<StoreContext>();
    const notify = (e: FetchProgress): void => {
      for (const l of listeners) callSafely(l, e);
    };
    const promise = run(notify)
      .then((mediaType) => {
        if (mediaType !== undefined) for (const c of contexts) c.recordWrite(digest, mediaType);
      })
      .finally(() => flights.delete(key));
    flight = { promise, listeners, contexts };
    flights.set(key, flight);
  }
  flight.contexts.add(ctx);
  if (onProgress) flight.listeners.add(onProgress);
  return flight.promise;
}
