import { digestOf } from '../../src/index.js';

const good = digestOf('x');
const hex = good.slice('sha256:'.length);

/** Inputs every method taking a digest must reject with InvalidDigestError before touching the disk. */
export const BAD_DIGESTS: Array<[string, unknown]> = [
  ['empty string', ''],
  ['no algorithm', hex],
  ['empty algorithm', `:${hex}`],
  ['empty encoded', 'sha256:'],
  ['uppercase hex', `sha256:${hex.toUpperCase()}`],
  ['too short', `sha256:${hex.slice(1)}`],
  ['too long', `sha256:${hex}0`],
  ['unknown algorithm', `md5:${hex.slice(0, 32)}`],
  ['uppercase algorithm', `SHA256:${hex}`],
  ['path traversal', 'sha256:../../../../etc/passwd'],
  ['dot dot with right length', `sha256:..${hex.slice(2)}`],
  ['slash inside', `sha256:${hex.slice(0, 30)}/${hex.slice(31)}`],
  ['separator in algorithm', `sha256/x:${hex}`],
  ['non-hex letters', `sha256:${'g'.repeat(64)}`],
  ['whitespace', ` ${good}`],
  ['trailing newline', `${good}\n`],
  ['sha512 with sha256 length', `sha512:${hex}`],
  ['blake3 too long', `blake3:${hex}${hex}`],
  ['two colons', `sha256:${hex}:x`],
  ['not a string', 42],
  ['undefined', undefined],
];
