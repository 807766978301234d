import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ALGORITHMS,
  InvalidDigestError,
  createDigester,
  digestOf,
  isDigest,
  parseDigest,
  validateDigest,
  type DigestAlgorithm,
} from '../../src/index.js';

const ALGS = Object.keys(ALGORITHMS) as DigestAlgorithm[];
const hex64 = 'a'.repeat(32) + '0123456789abcdef'.repeat(2);
const hex128 = '0123456789abcdef'.repeat(8);

/** A small deterministic PRNG (mulberry32), so a failing split can be reproduced from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function bytes(length: number, seed: number): Buffer {
  const next = prng(seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256);
  return out;
}

/**
 * Cuts `data` at random points into chunks (some empty), each a plain Uint8Array view into a larger buffer with
 * junk around it: a hasher that ignores byteOffset/byteLength would hash the junk.
 */
function randomSplit(data: Uint8Array, seed: number): Uint8Array[] {
  const next = prng(seed);
  const chunks: Uint8Array[] = [];
  let off = 0;
  while (off < data.length) {
    const r = next();
    const len = r < 0.1 ? 0 : Math.min(data.length - off, 1 + Math.floor(next() * 5000));
    const host = new Uint8Array(len + 16).fill(0xee);
    host.set(data.subarray(off, off + len), 8);
    chunks.push(new Uint8Array(host.buffer, 8, len));
    off += len;
  }
  return chunks;
}

function expectInvalid(fn: () => unknown): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidDigestError);
  expect((err as InvalidDigestError).code).toBe('ERR_INVALID_DIGEST');
}

describe('parseDigest / validateDigest / isDigest', () => {
  const valid: Array<[string, DigestAlgorithm, string]> = [
    ['sha256', 'sha256', hex64],
    ['sha512', 'sha512', hex128],
    ['blake3', 'blake3', hex64],
    ['sha256 of real data', 'sha256', createHash('sha256').update('abc').digest('hex')],
  ];
  for (const [label, algorithm, encoded] of valid) {
    it(`accepts ${label}`, () => {
      const d = `${algorithm}:${encoded}`;
      expect(parseDigest(d)).toEqual({ algorithm, encoded });
      expect(validateDigest(d)).toBe(d);
      expect(isDigest(d)).toBe(true);
    });
  }

  const invalid: Array<[string, unknown]> = [
    ['uppercase hex', `sha256:${hex64.toUpperCase()}`],
    ['one uppercase hex digit', `sha256:A${hex64.slice(1)}`],
    ['uppercase algorithm', `SHA256:${hex64}`],
    ['sha256 too short', `sha256:${hex64.slice(1)}`],
    ['sha256 too long', `sha256:${hex64}0`],
    ['sha512 with 64 hex', `sha512:${hex64}`],
    ['blake3 with 128 hex', `blake3:${hex128}`],
    ['unknown algorithm', `md5:${hex64.slice(0, 32)}`],
    ['unknown algorithm of the right length', `sha384:${hex64}`],
    ['prototype property as algorithm', `constructor:${hex64}`],
    ['__proto__ as algorithm', `__proto__:${hex64}`],
    ['slash in encoded', `sha256:${hex64.slice(0, 31)}/${hex64.slice(32)}`],
    ['slash in algorithm', `sha256/..:${hex64}`],
    ['dot dot', `sha256:..${hex64.slice(2)}`],
    ['path traversal', 'sha256:../../../../../../../../etc/passwd'],
    ['empty string', ''],
    ['only a colon', ':'],
    ['missing colon', `sha256${hex64}`],
    ['bare hex', hex64],
    ['empty algorithm', `:${hex64}`],
    ['empty encoded', 'sha256:'],
    ['extra colon at the end', `sha256:${hex64}:`],
    ['extra colon inside', `sha256::${hex64.slice(1)}`],
    ['two digests', `sha256:${hex64}:sha256:${hex64}`],
    ['leading space', ` sha256:${hex64}`],
    ['trailing space', `sha256:${hex64} `],
    ['space after colon', `sha256: ${hex64.slice(1)}`],
    ['tab', `sha256:\t${hex64.slice(1)}`],
    ['trailing newline', `sha256:${hex64}\n`],
    ['NUL byte', `sha256:${hex64.slice(1)}\0`],
    ['non-ASCII digit', `sha256:${hex64.slice(1)}\u0663`],
    ['number', 42],
    ['undefined', undefined],
    ['null', null],
    ['object with toString', { toString: () => `sha256:${hex64}` }],
    ['String object', new String(`sha256:${hex64}`)],
    ['Buffer of a digest', Buffer.from(`sha256:${hex64}`)],
  ];
  for (const [label, input] of invalid) {
    it(`rejects ${label}`, () => {
      expectInvalid(() => parseDigest(input));
      expectInvalid(() => validateDigest(input));
      expect(isDigest(input)).toBe(false);
    });
  }

  it('names the offending input on the error', () => {
    const bad = `sha256:${hex64.toUpperCase()}`;
    let err: InvalidDigestError | undefined;
    try {
      parseDigest(bad);
    } catch (e) {
      err = e as InvalidDigestError;
    }
    expect(err?.digest).toBe(bad);
    expect(err?.name).toBe('InvalidDigestError');
    expect(err?.message).toContain('invalid digest');
  });

  // Found by test/properties/names.test.ts: String() of an object without a prototype throws, so building the
  // error threw a TypeError instead.
  it('refuses values that have no string form with InvalidDigestError too', () => {
    for (const value of [Object.create(null), { toString: null, valueOf: null }]) {
      expectInvalid(() => parseDigest(value));
      expect(isDigest(value)).toBe(false);
    }
    expect(() => parseDigest(Object.create(null))).toThrow(/\[object Object\]/);
  });
});

describe('known answers', () => {
  // FIPS 180-2 appendix examples ("abc") and the well-known empty-message digests.
  const vectors: Array<[DigestAlgorithm, string, string]> = [
    ['sha256', 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['sha256', '', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    [
      'sha256',
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
    [
      'sha512',
      'abc',
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    ],
    [
      'sha512',
      '',
      'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
    ],
    ['blake3', '', 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'],
    ['blake3', 'abc', '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85'],
  ];
  for (const [alg, input, hex] of vectors) {
    it(`${alg}(${JSON.stringify(input.length > 8 ? input.slice(0, 8) + '…' : input)})`, () => {
      expect(digestOf(input, alg)).toBe(`${alg}:${hex}`);
      expect(digestOf(Buffer.from(input, 'utf8'), alg)).toBe(`${alg}:${hex}`);
      expect(createDigester(alg).update(input).digest()).toBe(`${alg}:${hex}`);
    });
  }

  // Official BLAKE3 vectors (BLAKE3-team/BLAKE3 test_vectors/test_vectors.json, "hash", first 32 bytes): input
  // bytes are 0, 1, ..., 250, 0, 1, ... These lengths straddle the 1024-byte chunk boundaries of the tree.
  const blake3Vectors: Array<[number, string]> = [
    [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213'],
    [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11'],
    [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7'],
    [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444'],
    [2049, '5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030'],
    [4097, '9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995'],
    [7169, 'a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e7817'],
  ];
  for (const [len, hex] of blake3Vectors) {
    it(`blake3 official vector, ${len} bytes, one-shot and split`, () => {
      const input = Buffer.alloc(len);
      for (let i = 0; i < len; i++) input[i] = i % 251;
      expect(digestOf(input, 'blake3')).toBe(`blake3:${hex}`);
      for (const seed of [1, 2, 3]) {
        const d = createDigester('blake3');
        for (const c of randomSplit(input, seed * 1000 + len)) d.update(c);
        expect(d.digest(), `seed ${seed}`).toBe(`blake3:${hex}`);
      }
    });
  }
});

describe('createDigester', () => {
  for (const alg of ALGS) {
    it(`${alg}: incremental updates over random splits equal the one-shot digestOf`, () => {
      for (const [size, seed] of [
        [0, 11],
        [1, 12],
        [1000, 13],
        [65_537, 14],
        [300_001, 15],
      ] as const) {
        const data = bytes(size, seed);
        const oneShot = digestOf(data, alg);
        expect(oneShot).toMatch(new RegExp(`^${alg}:[0-9a-f]{${ALGORITHMS[alg].hexLength}}$`));
        expect(isDigest(oneShot)).toBe(true);
        for (let round = 0; round < 3; round++) {
          const d = createDigester(alg);
          expect(d.algorithm).toBe(alg);
          for (const c of randomSplit(data, seed * 31 + round)) expect(d.update(c)).toBe(d);
          expect(d.digest(), `size ${size} round ${round}`).toBe(oneShot);
        }
      }
    });
  }

  for (const alg of ['sha256', 'sha512'] as const) {
    it(`${alg} agrees with node:crypto`, () => {
      for (const size of [0, 1, 55, 56, 64, 111, 112, 128, 4096, 100_003]) {
        const data = bytes(size, size + 7);
        const expected = `${alg}:${createHash(alg).update(data).digest('hex')}`;
        expect(digestOf(data, alg), `size ${size}`).toBe(expected);
        const d = createDigester(alg);
        for (const c of randomSplit(data, size)) d.update(c);
        expect(d.digest(), `split, size ${size}`).toBe(expected);
      }
    });
  }

  it('distinguishes content: one flipped bit changes every algorithm\'s digest', () => {
    const data = bytes(10_000, 99);
    const flipped = Buffer.from(data);
    flipped[5000] = flipped[5000]! ^ 1;
    for (const alg of ALGS) expect(digestOf(flipped, alg)).not.toBe(digestOf(data, alg));
  });

  it('defaults to sha256', () => {
    expect(createDigester().algorithm).toBe('sha256');
    expect(createDigester().update('abc').digest()).toBe(digestOf('abc', 'sha256'));
    expect(digestOf('abc')).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('rejects unknown algorithms with InvalidDigestError', () => {
    for (const alg of ['md5', 'SHA256', 'sha-256', '', 'constructor', '__proto__', 'toString']) {
      expectInvalid(() => createDigester(alg));
      expectInvalid(() => digestOf('x', alg));
    }
  });

  describe('strings are UTF-8', () => {
    const samples = ['é', 'naïve café', '日本語テキスト', '🦀 crab', 'mixed ascii, ß and 𝄞'];
    for (const alg of ALGS) {
      it(alg, () => {
        for (const s of samples) {
          const utf8 = Buffer.from(s, 'utf8');
          expect(digestOf(s, alg)).toBe(digestOf(utf8, alg));
          // Not Latin-1, not UTF-16: those encodings give other bytes for these strings.
          expect(digestOf(s, alg)).not.toBe(digestOf(Buffer.from(s, 'latin1'), alg));
          expect(digestOf(s, alg)).not.toBe(digestOf(Buffer.from(s, 'utf16le'), alg));
          // Strings and bytes can be mixed in one digester.
          const d = createDigester(alg);
          [...s].forEach((ch, i) => d.update(i % 2 === 0 ? ch : Buffer.from(ch, 'utf8')));
          expect(d.digest()).toBe(digestOf(utf8, alg));
        }
        if (alg !== 'blake3') {
          expect(digestOf('é', alg)).toBe(`${alg}:${createHash(alg).update(Buffer.from([0xc3, 0xa9])).digest('hex')}`);
        }
      });
    }
  });
});
