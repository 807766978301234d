/**
 * The one verifier (src/digest/verifier.ts, verify-stream.ts, hash-file.ts) that every read, write and fetch path
 * uses: size first (and as soon as a chunk would pass it), then the digest with the expected digest's algorithm,
 * typed errors carrying what was expected and what came. Expected digests are computed here with node:crypto, not
 * with the code under test.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Verifier, VerifyingStream, checkContent, hashFd, verifyBytes, verifyFd, verifyFile } from '../../src/digest/index.js';
import { AbortError, DigestMismatchError, InvalidDigestError, SizeMismatchError } from '../../src/errors.js';
import { makeTempDir, randomData } from '../helpers/tmp.js';

const sha = (algorithm: 'sha256' | 'sha512', data: Uint8Array | string): string =>
  `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;

/** The error `fn` throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

const DATA = Buffer.from('0123456789');
const DIGEST = sha('sha256', DATA);

describe('Verifier', () => {
  it('ensureRoom throws SizeMismatchError before anything more is hashed, naming the size the bytes would reach', () => {
    const v = new Verifier({ digest: DIGEST, size: 10 });
    v.update(DATA.subarray(0, 6));
    v.ensureRoom(4); // exactly up to the size: fine
    const err = thrown(() => v.ensureRoom(5));
    expect(err).toBeInstanceOf(SizeMismatchError);
    expect(err).toMatchObject({ code: 'ERR_MOTE_SIZE_MISMATCH', digest: DIGEST, expected: 10, actual: 11 });
    expect(v.received).toBe(6);
    // update() checks first too: the chunk that would overflow is refused whole, nothing of it is hashed.
    expect(() => v.update(Buffer.from('abcde'))).toThrow(SizeMismatchError);
    expect(v.received).toBe(6);
    expect(v.digest()).toBe(sha('sha256', DATA.subarray(0, 6)));
  });

  it('names a missing digest in the size error', () => {
    const v = new Verifier({ size: 3 });
    expect(thrown(() => v.update(DATA))).toMatchObject({ digest: '(digest not given)', expected: 3, actual: 10 });
    expect(v.received).toBe(0);
  });

  it('verify() returns the digest of every byte when size and digest match', () => {
    const v = new Verifier({ digest: DIGEST, size: 10 });
    for (const chunk of [DATA.subarray(0, 3), DATA.subarray(3, 3), DATA.subarray(3)]) v.update(chunk);
    expect(v.received).toBe(10);
    expect(v.verify()).toBe(DIGEST);
    expect(v.digest()).toBe(DIGEST); // may be asked again
  });

  it('verify() checks the size before the digest', () => {
    const v = new Verifier({ digest: DIGEST, size: 10 });
    v.update(Buffer.from('xyz')); // short and wrong
    const err = thrown(() => v.verify());
    expect(err).toBeInstanceOf(SizeMismatchError);
    expect(err).toMatchObject({ digest: DIGEST, expected: 10, actual: 3 });
  });

  it('verify() reports a wrong digest with what was expected and what the bytes hash to', () => {
    const other = Buffer.from('9876543210');
    const v = new Verifier({ digest: DIGEST, size: 10 });
    v.update(other);
    const err = thrown(() => v.verify());
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect(err).toMatchObject({ code: 'ERR_MOTE_DIGEST_MISMATCH', expected: DIGEST, actual: sha('sha256', other) });
  });

  it.each([
    ['absent', undefined],
    ['-1', -1],
  ])('with the size %s, a digest-only expectation never complains about size', (_what, size) => {
    const v = new Verifier({ digest: DIGEST, size });
    v.ensureRoom(Number.MAX_SAFE_INTEGER);
    v.update(DATA);
    expect(v.verify()).toBe(DIGEST);
    const longer = new Verifier({ digest: DIGEST, size });
    longer.update(Buffer.concat([DATA, DATA]));
    expect(thrown(() => longer.verify())).toBeInstanceOf(DigestMismatchError);
  });

  it('with no expectation, hashes with sha256 or the algorithm asked for', () => {
    const plain = new Verifier();
    plain.update(DATA);
    expect(plain.algorithm).toBe('sha256');
    expect(plain.verify()).toBe(DIGEST);
    const wide = new Verifier({ algorithm: 'sha512' });
    wide.update(DATA);
    expect(wide.verify()).toBe(sha('sha512', DATA));
  });

  it('takes the algorithm from the expected digest (over the algorithm option)', () => {
    const expected = sha('sha512', DATA);
    const v = new Verifier({ digest: expected, size: 10, algorithm: 'sha256' });
    expect(v.algorithm).toBe('sha512');
    v.update(DATA);
    expect(v.verify()).toBe(expected);
    const wrong = new Verifier({ digest: sha('sha512', 'other') });
    wrong.update(DATA);
    expect(thrown(() => wrong.verify())).toMatchObject({ actual: expected });
  });

  it('hashes exactly the bytes of a view, not the buffer around it', () => {
    const backing = Buffer.from('junk0123456789junk');
    const v = new Verifier({ digest: DIGEST, size: 10 });
    v.update(new Uint8Array(backing.buffer, backing.byteOffset + 4, 10));
    expect(v.verify()).toBe(DIGEST);
  });

  it.each(['sha256:abc', 'md5:' + '0'.repeat(32), 'sha256:' + 'A'.repeat(64)])('refuses the expected digest %j', (digest) => {
    expect(() => new Verifier({ digest })).toThrow(InvalidDigestError);
  });
});

describe('verifyBytes / checkContent', () => {
  it('returns the digest of matching bytes', () => {
    expect(verifyBytes(DATA, { digest: DIGEST, size: 10 })).toBe(DIGEST);
    expect(verifyBytes(DATA, { digest: DIGEST })).toBe(DIGEST);
    expect(verifyBytes(DATA, {})).toBe(DIGEST);
    expect(verifyBytes(DATA, { algorithm: 'sha512' })).toBe(sha('sha512', DATA));
  });

  it('labels a size mismatch with the real digest when no digest is expected, else with the expected one', () => {
    expect(thrown(() => verifyBytes(DATA, { size: 11 }))).toMatchObject({ digest: DIGEST, expected: 11, actual: 10 });
    const expected = sha('sha256', 'something else');
    const err = thrown(() => verifyBytes(DATA, { digest: expected, size: 4 }));
    expect(err).toBeInstanceOf(SizeMismatchError); // size first, though the digest is wrong too
    expect(err).toMatchObject({ digest: expected, expected: 4, actual: 10 });
  });

  it('reports a wrong digest with the real one, hashed with the algorithm of the expected digest', () => {
    const expected = sha('sha512', 'something else');
    expect(thrown(() => verifyBytes(DATA, { digest: expected, size: -1 }))).toMatchObject({
      code: 'ERR_MOTE_DIGEST_MISMATCH',
      expected,
      actual: sha('sha512', DATA),
    });
  });

  it('checkContent: size first, then digest, nothing when all matches', () => {
    expect(() => checkContent({ digest: DIGEST, size: 10 }, DIGEST, 10)).not.toThrow();
    expect(() => checkContent({}, DIGEST, 10)).not.toThrow();
    expect(thrown(() => checkContent({ digest: DIGEST, size: 10 }, sha('sha256', 'x'), 9))).toBeInstanceOf(SizeMismatchError);
    expect(thrown(() => checkContent({ digest: DIGEST, size: 10 }, sha('sha256', 'x'), 10))).toBeInstanceOf(DigestMismatchError);
    expect(() => checkContent({ digest: DIGEST }, DIGEST, 99)).not.toThrow();
  });
});

/** Pipes `chunks` through a VerifyingStream; what came out, and the error if the pipeline failed. */
async function throughVerifier(source: Readable, expected: ConstructorParameters<typeof VerifyingStream>[0]) {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk);
      cb();
    },
  });
  let error: unknown;
  try {
    await pipeline(source, new VerifyingStream(expected), sink);
  } catch (err) {
    error = err;
  }
  return { out: Buffer.concat(out), error };
}

describe('VerifyingStream', () => {
  it('passes the bytes through unchanged and ends cleanly when they are right', async () => {
    const data = randomData(300_000);
    const chunks = [data.subarray(0, 1), data.subarray(1, 70_000), data.subarray(70_000, 70_000), data.subarray(70_000)];
    const r = await throughVerifier(Readable.from(chunks), { digest: sha('sha256', data), size: data.length });
    expect(r.error).toBeUndefined();
    expect(r.out.equals(data)).toBe(true);
  });

  it('fails as soon as more bytes than expected arrive, without waiting for the end', async () => {
    // The source never ends: only an early failure can end this pipeline.
    const source = new Readable({ read() {} });
    source.push(DATA.subarray(0, 8));
    source.push(DATA.subarray(0, 8));
    const r = await throughVerifier(source, { digest: DIGEST, size: 10 });
    expect(r.error).toBeInstanceOf(SizeMismatchError);
    expect(r.error).toMatchObject({ expected: 10, actual: 16 });
    expect(r.out.length).toBeLessThanOrEqual(10);
  });

  it('fails at the end on a wrong digest, after passing the (unverified) bytes on', async () => {
    const other = Buffer.from('9876543210');
    const r = await throughVerifier(Readable.from([other]), { digest: DIGEST, size: 10 });
    expect(r.error).toBeInstanceOf(DigestMismatchError);
    expect(r.error).toMatchObject({ expected: DIGEST, actual: sha('sha256', other) });
    expect(r.out.equals(other)).toBe(true);
  });

  it('fails at the end on a short stream', async () => {
    const r = await throughVerifier(Readable.from([DATA.subarray(0, 6)]), { digest: DIGEST, size: 10 });
    expect(r.error).toBeInstanceOf(SizeMismatchError);
    expect(r.error).toMatchObject({ digest: DIGEST, expected: 10, actual: 6 });
  });

  it('checks only the digest when no size is expected, with the algorithm of that digest', async () => {
    const expected = sha('sha512', DATA);
    expect((await throughVerifier(Readable.from([DATA.subarray(0, 4), DATA.subarray(4)]), { digest: expected })).error).toBeUndefined();
    const r = await throughVerifier(Readable.from([DATA, DATA]), { digest: expected, size: -1 });
    expect(r.error).toBeInstanceOf(DigestMismatchError);
    expect(r.error).toMatchObject({ actual: sha('sha512', Buffer.concat([DATA, DATA])) });
  });
});

describe('verifyFile / verifyFd / hashFd', () => {
  const scratch = makeTempDir('motecache-verifier-');
  afterAll(scratch.cleanup);
  let n = 0;
  const fileWith = (data: Buffer): string => {
    const file = path.join(scratch.dir, `f${++n}`);
    fs.writeFileSync(file, data);
    return file;
  };
  // Over the 1 MiB read buffer, not a multiple of it: the last read is a partial one.
  const big = randomData(2 * (1 << 20) + 12_345);
  const bigDigest = sha('sha256', big);

  it('resolves with the digest of a right file, counting every byte read', async () => {
    const file = fileWith(big);
    let counted = 0;
    expect(await verifyFile(file, { digest: bigDigest, size: big.length }, { onBytes: (k) => (counted += k) })).toBe(bigDigest);
    expect(counted).toBe(big.length);
    expect(await verifyFile(file, { digest: bigDigest })).toBe(bigDigest);
  });

  it('rejects wrong content of the right size with DigestMismatchError naming the real digest', async () => {
    const wrong = Buffer.from(big);
    wrong[wrong.length - 1]! ^= 0xff;
    await expect(verifyFile(fileWith(wrong), { digest: bigDigest, size: big.length })).rejects.toMatchObject({
      code: 'ERR_MOTE_DIGEST_MISMATCH',
      expected: bigDigest,
      actual: sha('sha256', wrong),
    });
  });

  it('rejects a file of the wrong size with SizeMismatchError carrying its real size (size before digest)', async () => {
    const file = fileWith(DATA);
    await expect(verifyFile(file, { digest: DIGEST, size: 4 })).rejects.toMatchObject({ code: 'ERR_MOTE_SIZE_MISMATCH', expected: 4, actual: 10 });
    await expect(verifyFile(file, { digest: DIGEST, size: 11 })).rejects.toMatchObject({ expected: 11, actual: 10 });
    const err = await verifyFile(file, { digest: sha('sha256', 'other'), size: 4 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeMismatchError);
    // Read whole before the size is checked: a file longer than its read buffer is still reported with its real size.
    await expect(verifyFile(fileWith(big), { digest: bigDigest, size: 100 })).rejects.toMatchObject({ expected: 100, actual: big.length });
  });

  it('verifyFd reads from offset 0, wherever the position of the descriptor is', async () => {
    const fd = fs.openSync(fileWith(DATA), 'r');
    try {
      fs.readSync(fd, Buffer.alloc(4)); // moves the position
      expect(await verifyFd(fd, { digest: DIGEST, size: 10 })).toBe(DIGEST);
      await expect(verifyFd(fd, { digest: sha('sha256', DATA.subarray(4)) })).rejects.toBeInstanceOf(DigestMismatchError);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('takes the algorithm from the expected digest (sha512)', async () => {
    const file = fileWith(big);
    const expected = sha('sha512', big);
    expect(await verifyFile(file, { digest: expected, size: big.length })).toBe(expected);
    await expect(verifyFile(file, { digest: sha('sha512', 'other') })).rejects.toMatchObject({ actual: expected });
  });

  it('hashFd gives the digest and size of an open file', async () => {
    const fd = fs.openSync(fileWith(big), 'r');
    try {
      expect(await hashFd(fd, 'sha256')).toEqual({ digest: bigDigest, size: big.length });
      expect(await hashFd(fd, 'sha512')).toEqual({ digest: sha('sha512', big), size: big.length });
    } finally {
      fs.closeSync(fd);
    }
  });

  it('an aborted signal stops a long hash at its next yield to the event loop (every 32 MiB)', async () => {
    const file = fileWith(Buffer.alloc(33 << 20, 1));
    let counted = 0;
    const done = verifyFile(file, {}, { signal: AbortSignal.abort(), onBytes: (k) => (counted += k) });
    await expect(done).rejects.toBeInstanceOf(AbortError);
    expect(counted).toBe(32 << 20);
  });
});
