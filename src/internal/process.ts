/**
 * Who we are, for files that name their owner (fetch locks, temporaries): the host, and on Linux the pid namespace
 * and boot, without which a pid in a file means nothing to another process.
 */
import fs from 'node:fs';
import os from 'node:os';
import { isErrno } from './errno.js';

function readQuiet(fn: () => string): string | undefined {
  try {
    return fn();
  } catch {
    return undefined; // not Linux, or no /proc: pids are judged with the host name alone
  }
}

export const HOST = os.hostname();
/** `/proc/self/ns/pid`: a pid is meaningful only inside its pid namespace. */
export const PID_NS = readQuiet(() => fs.readlinkSync('/proc/self/ns/pid'));
/** The kernel's boot id: after a reboot, a recorded pid is someone else's. */
export const BOOT_ID = readQuiet(() => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());

/** Whether process `pid` is running (in our pid namespace). EPERM means alive, just not ours to signal. */
export function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, 'EPERM');
  }
}
