let lastMicros = 0;

/**
 * Microseconds since the epoch, strictly increasing within this process: fine enough to order uses that happen
 * within one millisecond. Wall-clock based (not `performance.now()`, which stops across a suspend and so drifts
 * behind other processes' clocks), with a per-process tie-break so two uses never share a timestamp here.
 */
export function nowMicros(): number {
  const now = Date.now() * 1000;
  lastMicros = now > lastMicros ? now : lastMicros + 1;
  return lastMicros;
}
