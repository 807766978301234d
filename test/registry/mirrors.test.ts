/**
 * `MirrorTable`: what a mirrors option may say (checked before any request), and which repository each read goes
 * to, in which order. The reads here are functions that record where they were sent; reads against real
 * registries are in test/cli/config.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { RegistryNotFoundError, RegistryUnavailableError } from '../../src/registry/index.js';
import { MirrorTable } from '../../src/registry/mirrors.js';
import type { MirrorsOption, RegistryEvent, RepositoryName } from '../../src/registry/types.js';

const repo = { registry: 'docker.io', repository: 'library/alpine' };

describe('MirrorTable', () => {
  it.each([
    ['a registry that is not a host', { 'not a host': { mirrors: [] } }],
    ['no mirrors list', { 'docker.io': {} }],
    ['a location without a host', { 'docker.io': { mirrors: [{ location: '/path' }] } }],
    ['a path that is not a repository path', { 'docker.io': { mirrors: [{ location: 'm.example/UPPER' }] } }],
    ['insecure not a boolean', { 'docker.io': { mirrors: [{ location: 'm.example', insecure: 'yes' }] } }],
    ['digestOnly not a boolean', { 'docker.io': { mirrors: [], digestOnly: 1 } }],
    ['seventeen mirrors', { 'docker.io': { mirrors: Array.from({ length: 17 }, (_, i) => ({ location: `m${i}.example` })) } }],
  ])('refuses %s', (_label, option) => {
    expect(() => new MirrorTable(option as unknown as MirrorsOption)).toThrow(InvalidArgumentError);
  });

  it('reads through each mirror (its path before the repository), then the registry; lists insecure mirror hosts', async () => {
    const table = new MirrorTable({ 'docker.io': { mirrors: [{ location: 'a.example/hub/' }, { location: 'b.example:5000', insecure: true }] } });
    expect(table.insecureHosts).toEqual(['b.example:5000']);
    const asked: RepositoryName[] = [];
    const events: RegistryEvent[] = [];
    const result = await table.read(repo, false, (e) => events.push(e), async (r) => {
      asked.push(r);
      if (r.registry !== 'docker.io') throw new RegistryNotFoundError('not here', { registry: r.registry });
      return 'from the registry';
    });
    expect(result).toBe('from the registry');
    expect(asked).toEqual([
      { registry: 'a.example', repository: 'hub/library/alpine' },
      { registry: 'b.example:5000', repository: 'library/alpine' },
      repo,
    ]);
    expect(events.map((e) => e.type === 'mirror-fallback' && e.mirror)).toEqual(['a.example/hub', 'b.example:5000']);
    // Another registry has no mirrors: asked directly.
    const other = { registry: 'ghcr.io', repository: 'x/y' };
    expect(await table.read(other, true, () => {}, async (r) => r)).toEqual(other);
  });

  it('digestOnly: tags go to the registry alone; a mirror found unavailable is passed over, one that lacks a repository is not', async () => {
    const table = new MirrorTable({ 'docker.io': { mirrors: [{ location: 'm.example' }], digestOnly: true } });
    const asked: string[] = [];
    const read = (fail: Error) => async (r: RepositoryName) => {
      asked.push(r.registry);
      if (r.registry === 'm.example') throw fail;
      return r.registry;
    };
    await table.read(repo, false, () => {}, read(new Error('unused')));
    expect(asked).toEqual(['docker.io']);
    asked.length = 0;
    await table.read(repo, true, () => {}, read(new RegistryNotFoundError('no', { registry: 'm.example' })));
    await table.read(repo, true, () => {}, read(new RegistryNotFoundError('no', { registry: 'm.example' })));
    expect(asked).toEqual(['m.example', 'docker.io', 'm.example', 'docker.io']);
    asked.length = 0;
    await table.read(repo, true, () => {}, read(new RegistryUnavailableError('down', { registry: 'm.example' })));
    await table.read(repo, true, () => {}, read(new RegistryUnavailableError('down', { registry: 'm.example' })));
    expect(asked).toEqual(['m.example', 'docker.io', 'docker.io']);
  });

  it('an abort is not a mirror failure: it stops at once', async () => {
    const table = new MirrorTable({ 'docker.io': { mirrors: [{ location: 'm.example' }] } });
    const controller = new AbortController();
    controller.abort();
    let calls = 0;
    await expect(
      table.read(repo, true, () => {}, async () => {
        calls++;
        throw Object.assign(new Error('aborted'), { name: 'AbortError' });
      }, controller.signal),
    ).rejects.toThrow('aborted');
    expect(calls).toBe(1);
  });
});

describe('MirrorTable and a mirror that lies', () => {
  it('wrong bytes from a mirror: the registry answers, and a MOTECACHE_MIRROR_INTEGRITY warning says so', async () => {
    const { DigestMismatchError } = await import('../../src/errors.js');
    const table = new MirrorTable({ 'docker.io': { mirrors: [{ location: 'liar.example' }] } });
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const answer = await table.read(repo, true, () => {}, async (r) => {
        if (r.registry === 'liar.example') throw new DigestMismatchError(`sha256:${'a'.repeat(64)}`, `sha256:${'b'.repeat(64)}`);
        return 'true bytes';
      });
      expect(answer).toBe('true bytes');
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on a later tick
      expect(warnings.map((w) => (w as { code?: string }).code)).toEqual(['MOTECACHE_MIRROR_INTEGRITY']);
      expect(warnings[0]!.message).toContain('liar.example');
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('MirrorTable: registries.conf habits are refused, not ignored', () => {
  it.each([
    ['a list instead of a mapping', [{ 'docker.io': { mirrors: [] } }]],
    ['mirror-by-digest-only', { 'docker.io': { mirrors: [], 'mirror-by-digest-only': true } }],
    ['blocked', { 'docker.io': { mirrors: [], blocked: true } }],
    ['a mirror with pull-from-mirror', { 'docker.io': { mirrors: [{ location: 'm.example', 'pull-from-mirror': 'all' }] } }],
    ['Docker Hub named twice', { 'docker.io': { mirrors: [] }, 'index.docker.io': { mirrors: [] } }],
  ])('%s', (_label, option) => {
    expect(() => new MirrorTable(option as unknown as MirrorsOption)).toThrow(InvalidArgumentError);
  });

  it('index.docker.io is Docker Hub, as references name it (docker.io)', async () => {
    const table = new MirrorTable({ 'index.docker.io': { mirrors: [{ location: 'm.example' }] } });
    const asked: string[] = [];
    await table.read(repo, true, () => {}, async (r) => {
      asked.push(r.registry);
      return r;
    });
    expect(asked).toEqual(['m.example']);
  });
});

describe('MirrorTable.reject: a blob whose bytes failed verification after the read returned', () => {
  const digest = `sha256:${'c'.repeat(64)}`;
  const other = `sha256:${'d'.repeat(64)}`;

  it('the mirrors that served it are passed over (for that blob for good, else for a while), each rejected once; bytes from the registry stay a failure', async () => {
    const table = new MirrorTable({ 'docker.io': { mirrors: [{ location: 'a.example' }, { location: 'b.example' }] } });
    const asked: string[] = [];
    const events: RegistryEvent[] = [];
    const onWarning = () => {};
    process.on('warning', onWarning); // the MOTECACHE_MIRROR_INTEGRITY warnings (their test is above)
    try {
      const read = (blob: string) => table.read(repo, blob, (e) => events.push(e), async (r) => (asked.push(r.registry), r.registry));
      expect(await read(digest)).toBe('a.example');
      expect(table.reject(repo, digest, (e) => events.push(e))).toBe(true);
      expect(await read(digest)).toBe('b.example');
      expect(await read(other)).toBe('b.example'); // another blob: a.example is passed over for a while
      expect(table.reject(repo, digest, (e) => events.push(e))).toBe(true);
      expect(await read(digest)).toBe('docker.io');
      expect(table.reject(repo, digest, (e) => events.push(e))).toBe(false); // the registry served it: nothing else to try
      expect(table.reject({ registry: 'ghcr.io', repository: 'x/y' }, digest, () => {})).toBe(false); // no mirrors there
      expect(asked).toEqual(['a.example', 'b.example', 'b.example', 'docker.io']);
      expect(events).toEqual([
        { type: 'mirror-fallback', registry: 'docker.io', mirror: 'a.example', reason: `blob ${digest} failed verification` },
        { type: 'mirror-fallback', registry: 'docker.io', mirror: 'b.example', reason: `blob ${digest} failed verification` },
      ]);
    } finally {
      await new Promise((resolve) => setImmediate(resolve));
      process.off('warning', onWarning);
    }
  });

  it('a blob read in ranges from two mirrors (the first went down mid-way): both are rejected at once', async () => {
    const table = new MirrorTable({ 'docker.io': { mirrors: [{ location: 'a.example' }, { location: 'b.example' }] } });
    const onWarning = () => {};
    process.on('warning', onWarning);
    try {
      await table.read(repo, digest, () => {}, async (r) => r.registry);
      await table.read(repo, digest, () => {}, async (r) => {
        if (r.registry === 'a.example') throw new RegistryUnavailableError('down', { registry: 'a.example' });
        return r.registry;
      });
      const blamed: RegistryEvent[] = [];
      expect(table.reject(repo, digest, (e) => blamed.push(e))).toBe(true);
      expect(blamed.map((e) => e.type === 'mirror-fallback' && e.mirror)).toEqual(['a.example', 'b.example']);
      expect(await table.read(repo, digest, () => {}, async (r) => r.registry)).toBe('docker.io');
    } finally {
      await new Promise((resolve) => setImmediate(resolve));
      process.off('warning', onWarning);
    }
  });
});
