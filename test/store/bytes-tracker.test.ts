import { describe, expect, it } from 'vitest';
import { BytesTracker, InvalidArgumentError, InvalidDigestError, digestOf } from '../../src/index.js';

/** The descriptor of `size` bytes of the character `ch` (as the issue phrases it: "10 of '1'"). */
function descriptorOf(ch: string, size: number, algorithm = 'sha256'): { digest: string; size: number } {
  return { digest: digestOf(ch.repeat(size), algorithm), size };
}

describe('BytesTracker', () => {
  it('starts at zero', () => {
    const t = new BytesTracker();
    expect([t.total, t.deduplicated, t.count]).toEqual([0, 0, 0]);
  });

  it('counts every add in total and each digest once in deduplicated (10 of "1", again, 11 of "2")', () => {
    const t = new BytesTracker();
    t.add(descriptorOf('1', 10));
    expect([t.total, t.deduplicated]).toEqual([10, 10]);
    t.add(descriptorOf('1', 10));
    expect([t.total, t.deduplicated]).toEqual([20, 10]);
    t.add(descriptorOf('2', 11));
    expect([t.total, t.deduplicated]).toEqual([31, 21]);
    expect(t.count).toBe(2);
  });

  it('dedups by digest, not by object identity or size', () => {
    const t = new BytesTracker();
    const d = descriptorOf('x', 100);
    t.add(d);
    t.add({ ...d }); // an equal descriptor from elsewhere (a second manifest sharing the layer)
    t.add({ digest: `${d.digest}`, size: 100 });
    expect([t.total, t.deduplicated, t.count]).toEqual([300, 100, 1]);
  });

  it('treats the same content under two algorithms as two digests', () => {
    const t = new BytesTracker();
    t.add(descriptorOf('y', 7, 'sha256'));
    t.add(descriptorOf('y', 7, 'sha512'));
    t.add(descriptorOf('y', 7, 'blake3'));
    t.add(descriptorOf('y', 7, 'blake3'));
    expect([t.total, t.deduplicated, t.count]).toEqual([28, 21, 3]);
  });

  it('accepts empty motes', () => {
    const t = new BytesTracker();
    t.add(descriptorOf('', 0));
    t.add(descriptorOf('', 0));
    expect([t.total, t.deduplicated, t.count]).toEqual([0, 0, 1]);
  });

  it('matches a reference computation over many random adds', () => {
    const t = new BytesTracker();
    const sizes = new Map<string, number>();
    let total = 0;
    for (let i = 0; i < 500; i++) {
      const k = Math.floor(Math.random() * 40);
      const d = descriptorOf(String.fromCharCode(65 + (k % 26)), 1 + k);
      t.add(d);
      total += d.size;
      sizes.set(d.digest, d.size);
    }
    expect(t.total).toBe(total);
    expect(t.deduplicated).toBe([...sizes.values()].reduce((a, b) => a + b, 0));
    expect(t.count).toBe(sizes.size);
  });

  it('rejects a bad digest with InvalidDigestError and counts nothing', () => {
    const t = new BytesTracker();
    t.add(descriptorOf('1', 10));
    for (const digest of ['', 'sha256:abc', `SHA256:${'a'.repeat(64)}`, 'sha256:../../etc/passwd', 42 as unknown as string]) {
      expect(() => t.add({ digest, size: 5 })).toThrow(InvalidDigestError);
    }
    expect([t.total, t.deduplicated, t.count]).toEqual([10, 10, 1]);
  });

  it('rejects a size that is not a whole number >= 0 with InvalidArgumentError and counts nothing', () => {
    const t = new BytesTracker();
    const { digest } = descriptorOf('z', 3);
    for (const size of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '3' as unknown as number]) {
      let err: unknown;
      try {
        t.add({ digest, size });
      } catch (e) {
        err = e;
      }
      expect(err, String(size)).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).code).toBe('ERR_MOTE_INVALID_ARGUMENT');
    }
    expect([t.total, t.deduplicated, t.count]).toEqual([0, 0, 0]);
    // A rejected add did not mark the digest as seen.
    t.add({ digest, size: 3 });
    expect([t.total, t.deduplicated, t.count]).toEqual([3, 3, 1]);
  });

  it('exposes read-only totals', () => {
    const t = new BytesTracker();
    t.add(descriptorOf('1', 10));
    expect(() => {
      (t as unknown as { total: number }).total = 0;
    }).toThrow(TypeError);
    expect(t.total).toBe(10);
  });
});
