/**
 * Many processes opening one new metadata database at once (four `mote warm --once` on one cache do): none may take
 * the schema another process is creating for "a database of another application". The application id and the
 * table count are read in one read transaction (internal/sqlite.ts identifyDatabase).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/tmp.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { dir: scratch, cleanup } = makeTempDir('motecache-sqlite-race-');
afterAll(() => cleanup());

function openIn(child: number, file: string): Promise<{ code: number | null; err: string }> {
  const code = `const { SqliteKeyValueStore } = await import(${JSON.stringify(path.join(root, 'dist', 'metadata', 'index.js'))});
const s = new SqliteKeyValueStore(${JSON.stringify(file)}); await s.set('k${child}', Buffer.from('v')); await s.close();`;
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += String(d)));
    p.once('close', (c) => resolve({ code: c, err }));
  });
}

describe('SqliteKeyValueStore opened by many processes at once', () => {
  it('every process opens a new database that others are creating (10 rounds of 6 processes)', async () => {
    for (let round = 0; round < 10; round++) {
      const file = path.join(scratch, `round-${round}`, 'metadata.db');
      const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => openIn(i, file)));
      for (const r of runs) expect(r.code, r.err).toBe(0);
    }
  }, 120_000);
});
