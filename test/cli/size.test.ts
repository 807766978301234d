import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { formatSize, parseSize } from '../../src/cli/size.js';

describe('parseSize', () => {
  it.each([
    ['0', 0],
    ['4096', 4096],
    ['  4096  ', 4096],
    ['100B', 100],
    ['100 b', 100],
    ['1K', 1024],
    ['1k', 1024],
    ['10 KiB', 10 * 1024],
    ['10kib', 10 * 1024],
    ['500M', 500 * 1024 ** 2],
    ['500MiB', 500 * 1024 ** 2],
    ['1.5G', 1.5 * 1024 ** 3],
    ['10GiB', 10 * 1024 ** 3],
    ['10gib', 10 * 1024 ** 3],
    ['2T', 2 * 1024 ** 4],
    ['2TiB', 2 * 1024 ** 4],
    ['1KB', 1000],
    ['1kb', 1000],
    ['500MB', 500_000_000],
    ['1.5GB', 1_500_000_000],
    ['3TB', 3_000_000_000_000],
    ['0.5K', 512],
    ['.5K', 512],
    ['0G', 0],
  ])('%j is %d bytes', (input, expected) => {
    expect(parseSize(input)).toBe(expected);
  });

  it('rounds fractional results down to whole bytes', () => {
    expect(parseSize('1.1K')).toBe(1126); // 1126.4
    expect(Number.isInteger(parseSize('0.3M'))).toBe(true);
  });

  it.each([
    [''],
    ['   '],
    ['abc'],
    ['G'],
    ['-1'],
    ['-1G'],
    ['+1G'],
    ['1.5'],
    ['1.5B'],
    ['1.'],
    ['1e3'],
    ['0x10'],
    ['10 GiBs'],
    ['10 XB'],
    ['10 PiB'],
    ['1 0G'],
    ['Infinity'],
    ['NaN'],
    ['99999999999999999999'],
    ['9000000TiB'],
  ])('rejects %j with InvalidArgumentError', (input) => {
    expect(() => parseSize(input)).toThrow(InvalidArgumentError);
  });

  it('names the bad input and uses the stable code', () => {
    try {
      parseSize('-5M');
      expect.unreachable('parseSize accepted a negative size');
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).code).toBe('ERR_MOTE_INVALID_ARGUMENT');
      expect((err as Error).message).toContain('"-5M"');
      expect((err as Error).message).toContain('negative');
    }
  });

  it('rejects non-strings', () => {
    expect(() => parseSize(42 as unknown as string)).toThrow(InvalidArgumentError);
  });
});

describe('formatSize', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [1024 ** 2, '1 MiB'],
    [1.5 * 1024 ** 3, '1.5 GiB'],
    [10 * 1024 ** 3, '10 GiB'],
    [1024 ** 4, '1 TiB'],
    [1024 ** 5, '1 PiB'],
    [1024 * 1024 - 1, '1 MiB'], // 1023.999 KiB rounds up to the next unit, not to "1024 KiB"
    [1126, '1.1 KiB'],
    [-2048, '-2 KiB'],
  ])('%d is %j', (input, expected) => {
    expect(formatSize(input)).toBe(expected);
  });

  it('round-trips through parseSize for whole units', () => {
    for (const n of [0, 512, 1024, 3 * 1024 ** 2, 7 * 1024 ** 3]) {
      expect(parseSize(formatSize(n))).toBe(n);
    }
  });

  it('rejects non-finite numbers', () => {
    expect(() => formatSize(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => formatSize(Number.POSITIVE_INFINITY)).toThrow(InvalidArgumentError);
  });
});
