#!/usr/bin/env node
/**
 * Writes the test fixture: a small OCI image layout holding two images that share one layer.
 *
 *   alpha = [shared, alpha-only]      beta = [shared, beta-only]
 *
 * Usage: node scripts/make-fixtures.mjs [output-dir]      (default: fixtures/oci-layout)
 *
 * The output is byte-for-byte the same on every run and every machine: all content is fixed, tar headers carry
 * mtime 0 and uid/gid 0, JSON is serialized compactly with fixed key order, and no clock is read. Layers are
 * gzipped with node:zlib at level 0 (stored blocks): the bytes of compressed deflate streams differ between zlib
 * builds (Node's bundled Chromium zlib changes across releases and CPUs), stored blocks do not. The gzip header's
 * OS byte is pinned to 3 (Unix) for the same reason. The result is still an ordinary tar+gzip that every tool reads.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const MEDIA = {
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  config: 'application/vnd.oci.image.config.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
};
const REF_NAME = 'org.opencontainers.image.ref.name';

// ---------------------------------------------------------------------------------------------------------------
// ustar (POSIX.1-1988) writer: just enough for short names, regular files and directories.

const BLOCK = 512;

/** `value` as a zero-padded octal number filling `width - 1` characters plus a NUL. */
function octal(value, width) {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function tarHeader({ name, mode, size, type }) {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long for this writer: ${name}`);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8'); //                      name
  h.write(octal(mode, 8), 100, 8, 'ascii'); //           mode
  h.write(octal(0, 8), 108, 8, 'ascii'); //              uid
  h.write(octal(0, 8), 116, 8, 'ascii'); //              gid
  h.write(octal(size, 12), 124, 12, 'ascii'); //         size
  h.write(octal(0, 12), 136, 12, 'ascii'); //            mtime: fixed, no timestamps
  h.write(' '.repeat(8), 148, 8, 'ascii'); //            checksum placeholder: spaces while summing
  h.write(type, 156, 1, 'ascii'); //                     typeflag: '0' file, '5' directory
  h.write('ustar\0', 257, 6, 'ascii'); //                magic
  h.write('00', 263, 2, 'ascii'); //                     version
  h.write('root', 265, 32, 'ascii'); //                  uname
  h.write('root', 297, 32, 'ascii'); //                  gname
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/**
 * A tar archive of `files` (path → text). Parent directories get their own entries, in order, before the first
 * file inside them.
 */
function makeTar(files) {
  const parts = [];
  const dirs = new Set();
  for (const [name, text] of Object.entries(files)) {
    const segments = name.split('/');
    for (let i = 1; i < segments.length; i++) {
      const dir = `${segments.slice(0, i).join('/')}/`;
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      parts.push(tarHeader({ name: dir, mode: 0o755, size: 0, type: '5' }));
    }
    const data = Buffer.from(text, 'utf8');
    parts.push(tarHeader({ name, mode: 0o644, size: data.length, type: '0' }));
    parts.push(data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK)); // end-of-archive marker
  return Buffer.concat(parts);
}

function gzip(data) {
  const out = gzipSync(data, { level: 0 });
  out[9] = 3; // OS = Unix, whatever platform zlib was built for
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Content

const LAYERS = {
  shared: {
    'etc/motd': 'Welcome to a motecache fixture image.\n',
    'etc/os-release': 'NAME="motecache fixture"\nID=motecache-fixture\nVERSION_ID=1\n',
    'usr/share/motecache/README': 'This layer is shared by the images alpha and beta.\n',
  },
  alpha: {
    'opt/alpha/hello.txt': 'hello from alpha\n',
    'opt/alpha/numbers.txt': Array.from({ length: 64 }, (_, i) => `alpha line ${i}\n`).join(''),
  },
  beta: {
    'opt/beta/hello.txt': 'hello from beta\n',
    'opt/beta/letters.txt': Array.from({ length: 26 }, (_, i) => `${String.fromCharCode(97 + i).repeat(40)}\n`).join(''),
  },
};

const IMAGES = [
  { name: 'alpha', layers: ['shared', 'alpha'] },
  { name: 'beta', layers: ['shared', 'beta'] },
];

// ---------------------------------------------------------------------------------------------------------------

const sha256 = (data) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Builds every file of the layout in memory: `Map<relative path, Buffer>`, in a fixed order. */
export function buildLayout() {
  const files = new Map();
  const addBlob = (mediaType, data) => {
    const digest = sha256(data);
    files.set(`blobs/sha256/${digest.slice('sha256:'.length)}`, data);
    return { mediaType, digest, size: data.length };
  };

  const layers = {};
  for (const [name, content] of Object.entries(LAYERS)) {
    const tar = makeTar(content);
    layers[name] = { diffId: sha256(tar), descriptor: addBlob(MEDIA.layer, gzip(tar)) };
  }

  const manifests = [];
  for (const image of IMAGES) {
    const config = {
      architecture: 'amd64',
      os: 'linux',
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Cmd: ['cat', `/opt/${image.name}/hello.txt`],
        Labels: { 'org.opencontainers.image.title': `motecache fixture ${image.name}` },
      },
      rootfs: { type: 'layers', diff_ids: image.layers.map((l) => layers[l].diffId) },
      history: image.layers.map((l) => ({ created_by: `motecache make-fixtures: layer ${l}` })),
    };
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA.manifest,
      config: addBlob(MEDIA.config, Buffer.from(JSON.stringify(config))),
      layers: image.layers.map((l) => layers[l].descriptor),
    };
    const descriptor = addBlob(MEDIA.manifest, Buffer.from(JSON.stringify(manifest)));
    manifests.push({
      ...descriptor,
      annotations: { [REF_NAME]: image.name },
      platform: { architecture: 'amd64', os: 'linux' },
    });
  }

  files.set('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  files.set('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.index, manifests })));
  return files;
}

/** Writes the layout into `outDir`, replacing a previous one there (only the layout's own entries are removed). */
export function writeLayout(outDir) {
  const files = buildLayout();
  for (const entry of ['blobs', 'index.json', 'oci-layout']) rmSync(path.join(outDir, entry), { recursive: true, force: true });
  for (const [rel, data] of files) {
    const file = path.join(outDir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, data);
  }
  return files;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
  const outDir = path.resolve(process.argv[2] ?? path.join(root, 'fixtures', 'oci-layout'));
  const files = writeLayout(outDir);
  let bytes = 0;
  for (const data of files.values()) bytes += data.length;
  console.log(`wrote ${files.size} files (${bytes} bytes) to ${path.relative(process.cwd(), outDir) || '.'}`);
}
