import { InvalidArgumentError } from '../errors.js';

/**
 * Byte multipliers by unit, keyed by the lowercased unit. Bare letters (K, M, G, T) and the IEC names (KiB, ...)
 * are powers of 1024, as `du`, `ls -h` and most container tooling read them; the SI names (KB, MB, GB, TB) are
 * powers of 1000.
 */
const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
};

// A plain decimal number (no sign, no exponent, no hex), optional blanks, an optional unit made of letters.
const SIZE_PATTERN = /^(\d+(?:\.\d+)?|\.\d+)[ \t]*([a-z]*)$/i;

/**
 * Parses a human size into a whole number of bytes: `"10GiB"`, `"500M"`, `"1.5G"`, `"4096"`, `"10 KiB"`, `"0"`.
 * Units are case-insensitive; K/KiB, M/MiB, G/GiB, T/TiB are 1024-based and KB/MB/GB/TB are 1000-based; `B` (or no
 * unit) is bytes. A fraction is allowed with a unit and rounded down to whole bytes (`"1.1K"` is 1126).
 *
 * @throws InvalidArgumentError for anything else: empty strings, negative numbers, unknown units, exponents,
 *   fractional bytes, and sizes beyond `Number.MAX_SAFE_INTEGER`.
 */
export function parseSize(s: string): number {
  if (typeof s !== 'string') throw new InvalidArgumentError(`invalid size ${String(s)}: not a string`);
  const text = s.trim();
  const quoted = JSON.stringify(s).slice(0, 100);
  const match = SIZE_PATTERN.exec(text);
  if (!match) {
    const why = text.startsWith('-') ? 'sizes cannot be negative' : 'expected a number with an optional unit (e.g. 10GiB, 500M, 4096)';
    throw new InvalidArgumentError(`invalid size ${quoted}: ${why}`);
  }
  const [, number = '', rawUnit = ''] = match;
  const unit = rawUnit.toLowerCase();
  const multiplier = UNITS[unit];
  if (multiplier === undefined) {
    throw new InvalidArgumentError(`invalid size ${quoted}: unknown unit ${JSON.stringify(rawUnit)} (use B, K/KiB, M/MiB, G/GiB, T/TiB, KB, MB, GB or TB)`);
  }
  if (multiplier === 1 && number.includes('.')) {
    throw new InvalidArgumentError(`invalid size ${quoted}: a size in bytes must be a whole number`);
  }
  const bytes = Math.floor(Number(number) * multiplier);
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgumentError(`invalid size ${quoted}: too large`);
  return bytes;
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

/**
 * Formats a byte count with 1024-based units and at most one decimal: `0 B`, `512 B`, `1 KiB`, `1.5 GiB`.
 * Negative counts keep their sign.
 *
 * @throws InvalidArgumentError if `n` is not a finite number.
 */
export function formatSize(n: number): string {
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`cannot format size ${String(n)}`);
  if (n < 0) return `-${formatSize(-n)}`;
  let unit = 0;
  let value = n;
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  let rounded = Math.round(value * 10) / 10;
  // 1023.97 KiB rounds to 1024.0: say 1 MiB instead.
  if (rounded >= 1024 && unit < BINARY_UNITS.length - 1) {
    rounded = 1;
    unit++;
  }
  const text = Number.isInteger(rounded) ? String(rounded) : rounded.toFixed(1);
  return `${text} ${BINARY_UNITS[unit]}`;
}
