/**
 * Properties of reading `oci-archive:` files: `safeEntryPath` for any entry name, and `readOciArchive` for random
 * small tars built with tar-stream (layout files, blobs right and wrong, hostile names, links, devices) and for
 * the same bytes damaged (truncated, garbage, a header's size or type rewritten with a correct checksum). Any
 * archive gives a layout or a typed error, and nothing is ever written inside the target but verified blobs and the
 * numbered copies of the archive's other files (kept to be written back).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MoteError } from '../../src/errors.js';
import { MediaType } from '../../src/oci/media-types.js';
import { readOciArchive, safeEntryPath } from '../../src/pull/destination/oci-archive.js';
import { makeTempDir } from '../helpers/tmp.js';
import { anyString, mutated, outcome, outcomeAsync, runs } from './support.js';

const { dir: scratch, cleanup } = makeTempDir('motecache-prop-archive-');
afterAll(cleanup);

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('safeEntryPath', () => {
  const segment = fc.oneof(fc.constantFrom('..', '.', '', 'blobs', 'sha256', 'a\\b', 'C:', '...', '. .'), fc.stringMatching(/^[a-z0-9._-]{1,6}$/));
  const name = fc.array(segment, { maxLength: 5 }).map((s) => s.join('/'));

  it('a relative path of plain components that stays under any root, or ERR_UNSAFE_ARCHIVE', () => {
    fc.assert(
      fc.property(fc.oneof(mutated(name), anyString(100)), (n) => {
        const rel = outcome(() => safeEntryPath('a.tar', n), ['ERR_UNSAFE_ARCHIVE']);
        if (rel instanceof MoteError) return;
        expect(rel.split('/').every((p) => p !== '..' && p !== '.' && (p !== '' || rel === ''))).toBe(true);
        expect(rel).not.toMatch(/^\/|^[A-Za-z]:|\\/);
        expect(safeEntryPath('a.tar', rel)).toBe(rel);
        const joined = path.posix.join('/root', rel);
        expect(joined === '/root' || joined.startsWith('/root/')).toBe(true);
      }),
      runs(0xa1, 500),
    );
  });
});

type EntrySpec = { name: string; type: string; linkname?: string; data?: Buffer };

const blob = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));
const layoutFile = fc.constantFrom('{"imageLayoutVersion":"1.0.0"}', '{"imageLayoutVersion":"2.0.0"}', '{}', 'not json');
const hostileName = fc.constantFrom('../x', '/etc/x', 'a/../../x', 'C:/x', 'a\\..\\x', 'blobs', 'blobs/sha256', 'blobs/sha256/zz', './oci-layout', 'index.json/', '', '.', 'x'.repeat(300), 'é/ü');

/** Something hostile or wrong: a blob whose content is not its name, a link, a device, a name that climbs out. */
const oddEntry: fc.Arbitrary<EntrySpec> = fc.oneof(
  fc.tuple(blob, blob).map(([b, other]) => ({ name: `blobs/sha256/${sha256(other)}`, type: 'file', data: b })),
  fc.constantFrom('blobs/', 'blobs/sha256/', 'other/').map((name) => ({ name, type: 'directory' })),
  layoutFile.map((t) => ({ name: 'oci-layout', type: 'file', data: Buffer.from(t) })),
  fc.record({
    name: fc.oneof(hostileName, fc.constantFrom('oci-layout', 'index.json', `blobs/sha256/${'a'.repeat(64)}`, 'x/y')),
    type: fc.constantFrom('file', 'symlink', 'link', 'character-device', 'block-device', 'fifo', 'contiguous-file', 'directory'),
    linkname: fc.constantFrom('x', '../x', '/etc/passwd', 'a/../../x', 'index.json', ''),
    data: fc.option(blob, { nil: undefined }),
  }),
);

/**
 * An archive's entries: mostly a layout that reads (`oci-layout`, blobs named by their content, an `index.json`
 * pointing at them), with a few odd entries put at random places, or none (so the reader's success path is
 * reached as well as each of its refusals).
 */
const entries = fc
  .record({
    layout: fc.option(fc.oneof({ weight: 6, arbitrary: fc.constant('{"imageLayoutVersion":"1.0.0"}') }, { weight: 1, arbitrary: layoutFile }), { freq: 8 }),
    index: fc.constantFrom('valid', 'valid', 'valid', 'empty', 'broken', 'none'),
    blobs: fc.array(blob, { maxLength: 3 }),
    odd: fc.oneof({ weight: 2, arbitrary: fc.constant([]) }, { weight: 3, arbitrary: fc.array(fc.tuple(fc.nat(), oddEntry), { minLength: 1, maxLength: 2 }) }),
  })
  .map(({ layout, index, blobs, odd }) => {
    const list: EntrySpec[] = blobs.map((b) => ({ name: `blobs/sha256/${sha256(b)}`, type: 'file', data: b }));
    if (layout !== null) list.unshift({ name: 'oci-layout', type: 'file', data: Buffer.from(layout) });
    const manifests = blobs.map((b) => ({ mediaType: MediaType.OciManifest, digest: `sha256:${sha256(b)}`, size: b.length }));
    const text = index === 'valid' ? JSON.stringify({ schemaVersion: 2, manifests }) : index === 'empty' ? '{"schemaVersion":2}' : '{"schemaVersion":2,"manifests":[{}]}';
    if (index !== 'none') list.push({ name: 'index.json', type: 'file', data: Buffer.from(text) });
    for (const [at, e] of odd) list.splice(at % (list.length + 1), 0, e);
    return list;
  });

async function pack(list: EntrySpec[]): Promise<Buffer> {
  const tar = await import('tar-stream');
  const p = tar.pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const e of list) {
    const header = { name: e.name, type: e.type as 'file', ...(e.linkname !== undefined ? { linkname: e.linkname } : {}) };
    const body = e.type === 'file' || e.type === 'contiguous-file' ? (e.data ?? Buffer.alloc(0)) : undefined;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body) p.entry(header, body, done);
      else p.entry(header, done);
    });
  }
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** Offsets of the headers of a tar (walking sizes; stops at the first block of zeros). */
function headerOffsets(tar: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at + 512 <= tar.length; ) {
    const block = tar.subarray(at, at + 512);
    if (block.every((b) => b === 0)) break;
    out.push(at);
    const size = parseInt(block.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0', 8) || 0;
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Rewrites bytes of a header and fixes its checksum, so the damage is past tar-stream's first check. */
function rewriteHeader(tar: Buffer, at: number, field: 'size' | 'type', value: string): Buffer {
  const out = Buffer.from(tar);
  const h = out.subarray(at, at + 512);
  if (field === 'size') h.write(value.padEnd(12, '\0').slice(0, 12), 124, 'ascii');
  else h.write(value.slice(0, 1), 156, 'ascii');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return out;
}

type Damage = { kind: 'none' | 'truncate' | 'flip' | 'append' | 'size' | 'type'; at: number; value: string; bytes: Uint8Array };
const damage: fc.Arbitrary<Damage> = fc.record({
  kind: fc.constantFrom('none', 'none', 'none', 'none', 'truncate', 'flip', 'append', 'size', 'size', 'type'),
  at: fc.nat(),
  value: fc.constantFrom('0', '1', '777', '77777777777', '99999999999', 'zzz', '-1', '1000', '2', '5', 'V', 'g', 'x', '7'),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 600 }),
});

function damaged(tar: Buffer, d: Damage): Buffer {
  switch (d.kind) {
    case 'none':
      return tar;
    case 'truncate':
      return tar.subarray(0, d.at % (tar.length + 1));
    case 'flip': {
      const out = Buffer.from(tar);
      const i = d.at % out.length;
      out[i] = out[i]! ^ d.bytes[0]!;
      return out;
    }
    case 'append':
      return Buffer.concat([tar.subarray(0, Math.max(0, tar.length - 1024)), Buffer.from(d.bytes)]);
    case 'size':
    case 'type': {
      const offsets = headerOffsets(tar);
      return offsets.length === 0 ? tar : rewriteHeader(tar, offsets[d.at % offsets.length]!, d.kind, d.value);
    }
  }
}

/** Every file under `dir`, relative, with its content. */
function files(dir: string): [string, Buffer][] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => !e.isDirectory())
    .map((e) => {
      const p = path.join(e.parentPath, e.name);
      return [path.relative(dir, p), fs.readFileSync(p)] as [string, Buffer];
    });
}

const ARCHIVE_CODES = ['ERR_UNSAFE_ARCHIVE', 'ERR_INVALID_DESTINATION', 'ERR_MOTE_DIGEST_MISMATCH', 'ERR_MOTE_SIZE_MISMATCH'];
let n = 0;

describe('readOciArchive', () => {
  it('any small tar, damaged or not, gives a layout or a typed error, and only verified blobs (and numbered extras) are written', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof({ weight: 5, arbitrary: fc.tuple(entries, damage) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }) }), async (input) => {
        const bytes = input instanceof Uint8Array ? Buffer.from(input) : damaged(await pack(input[0]), input[1]);
        const work = path.join(scratch, `w${++n}`);
        const into = path.join(work, 'into');
        fs.mkdirSync(into, { recursive: true });
        fs.writeFileSync(path.join(work, 'a.tar'), bytes);
        const result = await outcomeAsync(() => readOciArchive(path.join(work, 'a.tar'), into), ARCHIVE_CODES);
        expect(fs.readdirSync(work).sort()).toEqual(['a.tar', 'into']);
        for (const [rel, content] of files(into)) {
          const posix = rel.split(path.sep).join('/');
          // Entries that are not the layout's are kept to be written back (under a number, never their name).
          if (/^extra\/\d+$/.test(posix)) continue;
          const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(posix);
          expect(m, rel).not.toBeNull();
          expect(sha256(content)).toBe(m![1]);
        }
        if (!(result instanceof MoteError)) {
          expect(result.index.schemaVersion).toBe(2);
          for (const [digest, file] of result.blobs) expect(`sha256:${sha256(fs.readFileSync(file))}`).toBe(digest);
        }
        fs.rmSync(work, { recursive: true, force: true });
      }),
      runs(0xa2c1, 150),
    );
  });
});
