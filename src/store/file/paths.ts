import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ALGORITHMS, parseDigest, type DigestAlgorithm } from '../../digest/index.js';
import { fsyncDirSync, mkdirpSync, writeFileNoClobberSync } from '../../internal/fs.js';
import { isErrno } from '../../internal/errno.js';
import { InvalidArgumentError } from '../../errors.js';
import { INDEX_FILE, OCI_LAYOUT_CONTENT, OCI_LAYOUT_FILE, emptyLayoutIndex } from '../../oci/image-layout.js';

/**
 * Where everything lives under a store root. The root is a valid OCI image layout (`oci-layout`, `index.json`,
 * `blobs/<alg>/<encoded>`) plus a `CACHEDIR.TAG`; motecache's own files live in `.mote/`, which OCI tools ignore:
 *
 *   .mote/tmp/       temporaries: `*.ingest` (writes in progress), `*.read` (private read links), `*.lock` (a
 *                    fetch lock being created), `*.lease/` (a lease: hard links to the motes a process holds)
 *   .mote/index.db   SQLite: media type and last use per mote (a hint, rebuilt from blobs/ when lost)
 *   .mote/prune.lock the cross-process prune lock (proper-lockfile)
 *   .mote/fetch/     per-digest pull-through download locks, `<alg>-<encoded>.lock`, and their breakers
 *                    `<alg>-<encoded>.lock.break` (held for a moment by whoever removes a lock; see pullthrough/)
 *   .mote/partial/   resumable pull-through downloads, `<alg>-<encoded>`: written only by the process that created
 *                    it (a new holder copies it aside first), never served, never counted as store bytes; renamed
 *                    into blobs/ once verified
 */
export class StorePaths {
  readonly root: string;
  readonly blobsDir: string;
  readonly internalDir: string;
  readonly tmpDir: string;
  readonly indexPath: string;
  readonly pruneLockTarget: string;
  readonly fetchDir: string;
  readonly partialDir: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.blobsDir = path.join(this.root, 'blobs');
    this.internalDir = path.join(this.root, '.mote');
    this.tmpDir = path.join(this.internalDir, 'tmp');
    this.indexPath = path.join(this.internalDir, 'index.db');
    this.pruneLockTarget = path.join(this.internalDir, 'prune');
    this.fetchDir = path.join(this.internalDir, 'fetch');
    this.partialDir = path.join(this.internalDir, 'partial');
  }

  /** The per-digest pull-through download lock. Validates the digest first (it names a file). */
  fetchLockPath(digest: string): string {
    const { algorithm, encoded } = parseDigest(digest);
    return path.join(this.fetchDir, `${algorithm}-${encoded}.lock`);
  }

  /** The resumable partial download of a digest. Validates the digest first (it names a file). */
  partialPath(digest: string): string {
    const { algorithm, encoded } = parseDigest(digest);
    return path.join(this.partialDir, `${algorithm}-${encoded}`);
  }

  algorithmDir(algorithm: DigestAlgorithm): string {
    return path.join(this.blobsDir, algorithm);
  }

  /** The blob path of a digest. Validates the digest first, so no input can point outside `blobs/<alg>/`. */
  blobPath(digest: string): string {
    const { algorithm, encoded } = parseDigest(digest);
    return path.join(this.blobsDir, algorithm, encoded);
  }

  /** A fresh temporary name. The pid helps a human; the random part makes collisions practically impossible. */
  tempPath(kind: 'ingest' | 'read' | 'layout' | 'lock' | 'lease'): string {
    return path.join(this.tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}.${kind}`);
  }

  /**
   * Creates the directories and the OCI image-layout files if missing. Safe to run from several processes at once.
   * The layout files are written 0644 (unlike blobs): `index.json` is the user's to fill (e.g. `skopeo copy` into
   * the root). Their temporaries live in `.mote/tmp/` like every other, so a crash here leaves nothing in the root.
   */
  ensure(durable: boolean): void {
    try {
      mkdirpSync(this.tmpDir);
      for (const algorithm of Object.keys(ALGORITHMS) as DigestAlgorithm[]) mkdirpSync(this.algorithmDir(algorithm));
    } catch (err) {
      // ENOENT with every parent present (procfs, sysfs: a directory that is not a normal filesystem), ENOTDIR (a
      // file on the way): no retry can help, the root is the caller's mistake. EACCES, EROFS... stay as they are.
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) {
        throw new InvalidArgumentError(`${this.root} cannot hold a cache (${(err as Error).message})`);
      }
      throw err;
    }
    const writeIfMissing = (file: string, content: string, durable: boolean): boolean =>
      writeFileNoClobberSync(file, content, { durable, temp: this.tempPath('layout'), mode: 0o644 });
    let created = writeIfMissing(path.join(this.root, OCI_LAYOUT_FILE), OCI_LAYOUT_CONTENT + '\n', durable);
    created = writeIfMissing(path.join(this.root, INDEX_FILE), JSON.stringify(emptyLayoutIndex()) + '\n', durable) || created;
    created =
      writeIfMissing(
        path.join(this.root, 'CACHEDIR.TAG'),
        'Signature: 8a477f597d28d172789f06886806bc55\n' +
          '# This file is a cache directory tag created by motecache.\n' +
          '# For information about cache directory tags, see: https://bford.info/cachedir/\n',
        durable,
      ) || created;
    if (created && durable) fsyncDirSync(this.root);
  }
}
