/**
 * A small real tmpfs for disk-full tests. Mounting needs root (CAP_SYS_ADMIN); where that is not allowed,
 * `reason` says why and the caller skips.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface Tmpfs {
  dir: string;
  mounted: boolean;
  /** Why it could not be mounted (when `mounted` is false). */
  reason: string;
  /** Free bytes on it now. */
  free(): number;
  unmount(): void;
}

export function mountTmpfs(dir: string, size: string): Tmpfs {
  fs.mkdirSync(dir, { recursive: true });
  let mounted = false;
  let reason = '';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    mounted = true;
  } catch (err) {
    const e = err as { stderr?: Buffer; message?: string };
    const detail = (e.stderr?.toString().trim() || e.message || String(err)).split('\n')[0];
    reason = `cannot mount a tmpfs here (uid ${process.getuid?.() ?? '?'}): ${detail}`;
  }
  return {
    dir,
    mounted,
    reason,
    free() {
      const s = fs.statfsSync(dir);
      return s.bavail * s.bsize;
    },
    unmount() {
      if (!mounted) return;
      mounted = false;
      try {
        execFileSync('umount', [dir], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      }
    },
  };
}
