import fs from 'node:fs';
import { InvalidArgumentError, isErrno } from '../errors.js';

/** fsync a file or directory by path (opened read-only: fsync needs no write access). */
export function fsyncPathSync(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * fsync a directory so that a rename or create inside it survives a crash. Without this, ext4 and xfs may
 * replay the file's data but lose its new name (containerd#12301 added the same call after its rename).
 */
export function fsyncDirSync(dir: string): void {
  fsyncPathSync(dir);
}

/** A size argument: a whole number of bytes, or -1 for "unknown". */
export function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < -1) {
    throw new InvalidArgumentError(`size must be a whole number of bytes (or -1 for unknown), got ${size}`);
  }
}

/** Removes a file; a missing file is fine. */
export function unlinkQuiet(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}

/** Removes a file and swallows every error: for cleanup on a path that is already failing. */
export function unlinkBestEffort(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch {
    /* the original error matters more; a leftover temporary is swept later */
  }
}

/**
 * Creates `file` with `content` unless it exists, never exposing a partly written file: the bytes go to `temp`
 * (on the same filesystem) that is then hard-linked into place. link() fails with EEXIST instead of replacing,
 * so two processes initializing one root at once both succeed and neither clobbers the other.
 */
export function writeFileNoClobberSync(
  file: string,
  content: string,
  options: { durable: boolean; temp: string; mode: number },
): boolean {
  if (fs.existsSync(file)) return false;
  const { temp } = options;
  const fd = fs.openSync(temp, 'wx', options.mode);
  try {
    fs.writeFileSync(fd, content);
    if (options.durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(temp, file);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  } finally {
    unlinkBestEffort(temp);
  }
}
