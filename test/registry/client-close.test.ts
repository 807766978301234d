/**
 * `RegistryClient.close()` against a real registry: it finishes even when a body was handed out and never read
 * (that body is destroyed, quietly), waits for a body being read to the end, and gives up on one that stopped
 * moving after its grace period. Before, a blob body nobody read held its connection, and close() with it, forever
 * (the example in docs/registry.md exited silently with code 13: an unsettled top-level await).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/digest/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';

const reason = registryUnavailableReason();
let reg: RegistryHandle;
const repo = (): string => `${reg.host}/close/test`;
const small = randomBytes(64 * 1024);
const big = randomBytes(16 * 1024 * 1024);

/** Resolves to how long `p` took, or rejects when it takes longer than `ms`. */
async function within<T>(ms: number, p: Promise<T>): Promise<number> {
  const start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)))]);
  clearTimeout(timer);
  return performance.now() - start;
}

beforeAll(async () => {
  if (reason) return;
  reg = await startRegistry();
  const c = new RegistryClient({ credentials: false });
  await c.pushBlob(repo(), digestOf(small), small);
  await c.pushBlob(repo(), digestOf(big), big);
  await c.close();
}, 120_000);
afterAll(async () => reg?.stop());

describe.skipIf(reason)('RegistryClient.close()', () => {
  it('finishes when a blob body was handed out and never read: the body is destroyed, without an error event', async () => {
    const c = new RegistryClient({ credentials: false });
    const blob = await c.getBlob(repo(), digestOf(big));
    const errors: unknown[] = [];
    blob.body.on('error', (e) => errors.push(e));
    await within(5_000, c.close());
    expect(blob.body.destroyed).toBe(true);
    expect(errors).toEqual([]);
    // A ranged body too (the example in docs/registry.md), on a fresh client.
    const d = new RegistryClient({ credentials: false });
    const ranged = await d.getBlob(repo(), digestOf(small), { offset: 1024 });
    expect(ranged.length).toBe(small.length - 1024);
    await within(5_000, d.close());
    expect(ranged.body.destroyed).toBe(true);
  });

  it('waits for a body being read, which arrives whole', async () => {
    const c = new RegistryClient({ credentials: false });
    const blob = await c.getBlob(repo(), digestOf(big));
    const chunks: Buffer[] = [];
    const reading = (async () => {
      for await (const chunk of blob.body) {
        chunks.push(chunk as Buffer);
        await new Promise((r) => setImmediate(r));
      }
    })();
    // Started reading before close(): it goes on to the end.
    await new Promise<void>((r) => blob.body.once('data', () => r()));
    await within(20_000, c.close());
    await reading;
    expect(Buffer.concat(chunks).equals(big)).toBe(true);
  });

  it('a body read a little and then left alone: destroyed once it has not moved for graceMs, and its reader told', async () => {
    const c = new RegistryClient({ credentials: false });
    const blob = await c.getBlob(repo(), digestOf(big));
    await new Promise<void>((r) => blob.body.once('data', () => r()));
    blob.body.pause();
    const failed = new Promise<unknown>((r) => blob.body.once('error', r));
    const took = await within(5_000, c.close({ graceMs: 300 }));
    expect(took).toBeGreaterThanOrEqual(250);
    expect(await within(2_000, failed)).toBeGreaterThanOrEqual(0);
    expect(blob.body.destroyed).toBe(true);
  });

  it('close() twice, and destroy() after close(): both settle', async () => {
    const c = new RegistryClient({ credentials: false });
    await c.getBlob(repo(), digestOf(small));
    await within(5_000, Promise.all([c.close(), c.close()]));
    await within(5_000, c.destroy());
  });
});
