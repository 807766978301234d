import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('examples/quickstart.mjs (the README points to it)', () => {
  it('runs against the built package and does what its comments say', () => {
    const out = execFileSync(process.execPath, ['examples/quickstart.mjs'], { cwd: root, encoding: 'utf8' });
    const line = (tag: string): string => out.split('\n').find((l) => l.startsWith(tag)) ?? '';
    expect(line('refused')).toMatch(/true ERR_MOTE_DIGEST_MISMATCH/);
    expect(line('read')).toMatch(/^read\s+3145728 07070707$/);
    // manifest (19) + config (24) + config again: 67 in total, 43 deduplicated.
    expect(line('tracker')).toMatch(/^tracker\s+67 43$/);
    expect(line('verify')).toMatch(/checked: 3, bytes: 3145771, corrupt: \[\]/);
    expect(line('prune')).toMatch(/removed: 2, freedBytes: 3145747, remainingBytes: 24/);
  });
});

describe('examples/pull-through.mjs (the README points to it)', () => {
  it('runs against the built package: one download for eight readers, kept locally, a miss typed as not-found', () => {
    const out = execFileSync(process.execPath, ['examples/pull-through.mjs'], { cwd: root, encoding: 'utf8' });
    const line = (tag: string): string => out.split('\n').find((l) => l.startsWith(tag)) ?? '';
    expect(line('before')).toMatch(/^before\s+false$/);
    expect(line('read')).toMatch(/^read\s+true true$/);
    expect(line('after')).toMatch(/^after\s+true 1048576$/);
    expect(line('missing')).toMatch(/^missing\s+ERR_MOTE_NOT_FOUND true$/);
  });
});
