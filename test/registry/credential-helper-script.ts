/**
 * A real Docker credential helper for the tests: `docker-credential-<name>` (a Node script) in a directory of its
 * own, put on the PATH the test gives the code under test. It speaks the docker-credential-helpers protocol (`get`,
 * `store`, `erase`, answers and errors on stdout, `credentials not found in native keychain`), keeps what it stores
 * in `store.json` beside it, and records each call (action and server URL, never a secret) in `calls.log`.
 *
 * `mode` makes it misbehave: `fail` (exit 3 with a message), `fail-with-secret` (exit 1 printing its whole answer),
 * `hang` (starts a `sleep` that holds its stdout, records that pid, never answers), `big` (2 MiB of output),
 * `bad-json` (exit 0 with a non-JSON answer that contains the secret).
 */
import fs from 'node:fs';
import path from 'node:path';

export type HelperMode = 'ok' | 'fail' | 'fail-with-secret' | 'hang' | 'big' | 'bad-json';

export interface HelperEntry {
  Username: string;
  Secret: string;
}

export interface HelperCall {
  action: string;
  server: string;
}

export interface TestHelper {
  /** The directory to put first on PATH. */
  dir: string;
  /** `docker-credential-<name>`. */
  program: string;
  setMode(mode: HelperMode): void;
  /** Replaces what it holds, by server URL. */
  setStore(store: Record<string, HelperEntry>): void;
  store(): Record<string, HelperEntry>;
  calls(): HelperCall[];
  clearCalls(): void;
  /** The pid of the `sleep` a `hang` run started, once it did. */
  hangPid(): number | undefined;
  /** `env` with this helper's directory first on PATH. */
  env(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
}

const SCRIPT = String.raw`#!/usr/bin/env node
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const dir = __dirname;
const action = process.argv[2];
const input = fs.readFileSync(0, 'utf8');
const mode = fs.existsSync(path.join(dir, 'mode')) ? fs.readFileSync(path.join(dir, 'mode'), 'utf8').trim() : 'ok';
const storeFile = path.join(dir, 'store.json');
const store = fs.existsSync(storeFile) ? JSON.parse(fs.readFileSync(storeFile, 'utf8')) : {};
let server = input.trim();
let stored;
if (action === 'store') {
  stored = JSON.parse(input);
  server = stored.ServerURL;
}
fs.appendFileSync(path.join(dir, 'calls.log'), JSON.stringify({ action, server }) + '\n');
const notFound = () => {
  process.stdout.write('credentials not found in native keychain\n');
  process.exit(1);
};
if (mode === 'fail') {
  process.stdout.write('the keychain is locked\n');
  process.exit(3);
}
if (mode === 'fail-with-secret') {
  const e = store[server] || { Username: 'u', Secret: 'x' };
  process.stdout.write(JSON.stringify({ ServerURL: server, Username: e.Username, Secret: e.Secret }) + '\n');
  process.exit(1);
}
if (mode === 'hang') {
  const child = spawn('sleep', ['600'], { stdio: ['ignore', 'inherit', 'inherit'] });
  fs.writeFileSync(path.join(dir, 'hang.pid'), String(child.pid));
  setInterval(() => {}, 1000);
} else if (mode === 'big') {
  process.stdout.write('x'.repeat(2 * 1024 * 1024));
  process.exit(0);
} else {
  answer();
}
function answer() {
if (action === 'get') {
  const e = store[server];
  if (!e) notFound();
  if (mode === 'bad-json') {
    process.stdout.write('Secret=' + e.Secret + '\n');
    process.exit(0);
  }
  process.stdout.write(JSON.stringify({ ServerURL: server, Username: e.Username, Secret: e.Secret }) + '\n');
  process.exit(0);
}
if (action === 'store') {
  store[server] = { Username: stored.Username, Secret: stored.Secret };
  fs.writeFileSync(storeFile, JSON.stringify(store));
  process.exit(0);
}
if (action === 'erase') {
  if (!store[server]) notFound();
  delete store[server];
  fs.writeFileSync(storeFile, JSON.stringify(store));
  process.exit(0);
}
process.stdout.write('unknown action\n');
process.exit(1);
}
`;

/** Writes `docker-credential-<name>` into a new directory under `parent`. */
export function writeTestHelper(parent: string, name = 'motetest'): TestHelper {
  const dir = path.join(parent, `helper-${name}`);
  fs.mkdirSync(dir, { recursive: true });
  const program = `docker-credential-${name}`;
  fs.writeFileSync(path.join(dir, program), SCRIPT, { mode: 0o755 });
  // A CommonJS script whatever package.json sits in a directory above (the temp dir may have one).
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"commonjs"}\n');
  const file = (f: string) => path.join(dir, f);
  return {
    dir,
    program,
    setMode: (mode) => fs.writeFileSync(file('mode'), mode),
    setStore: (store) => fs.writeFileSync(file('store.json'), JSON.stringify(store)),
    store: () => (fs.existsSync(file('store.json')) ? (JSON.parse(fs.readFileSync(file('store.json'), 'utf8')) as Record<string, HelperEntry>) : {}),
    calls: () =>
      fs.existsSync(file('calls.log'))
        ? fs
            .readFileSync(file('calls.log'), 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as HelperCall)
        : [],
    clearCalls: () => fs.rmSync(file('calls.log'), { force: true }),
    hangPid: () => (fs.existsSync(file('hang.pid')) ? Number(fs.readFileSync(file('hang.pid'), 'utf8')) : undefined),
    env: (env = process.env) => ({ ...env, PATH: `${dir}${path.delimiter}${env.PATH ?? ''}` }),
  };
}
