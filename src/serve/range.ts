/** The `Range` header of a blob GET: one `bytes=a-b`, `bytes=a-` or `bytes=-n` range, validated against the size. */
import { MAX_RANGE_HEADER } from './options.js';
import { SpecError } from './errors.js';

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/** undefined: no Range (the whole blob). A malformed, multi-part or unsatisfiable range is `RANGE_INVALID` (416). */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const bad = (why: string): SpecError => new SpecError('RANGE_INVALID', `Range ${JSON.stringify(header.slice(0, 60))}: ${why}`, { size });
  if (header.length > MAX_RANGE_HEADER) throw bad('too long');
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) throw bad('give one range, bytes=START-END, bytes=START- or bytes=-SUFFIX');
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) throw bad('an empty suffix');
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) throw bad('the end is before the start');
  }
  if (start >= size) throw bad(`the blob has ${size} bytes`);
  return { start, end };
}
