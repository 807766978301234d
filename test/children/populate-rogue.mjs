// A hand-written FAKE fetch-lock holder, for fault injection: it does what a holder that was wrongly judged gone
// could do (one in another pid namespace, two copies of the code, a frozen one that wakes up). It writes a lock
// record as told (a dead pid in our namespace, or another namespace, never touched again), a partial holding a
// correct prefix of the mote, and then, keeping that partial's descriptor, abuses it for `abuseMs`: truncates it,
// writes garbage into it, extends it, as fast as it can.
// argv[2]: JSON { root, digest, prefixFile, lock: {...record}, abuseMs }
// stdout: READY once the lock and partial exist and the abuse started; at the end a JSON report {ino, rounds}.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { report } from './_common.mjs';

const cfg = JSON.parse(process.argv[2]);
const name = cfg.digest.replace(':', '-');
const fetchDir = path.join(cfg.root, '.mote', 'fetch');
const partialDir = path.join(cfg.root, '.mote', 'partial');
fs.mkdirSync(fetchDir, { recursive: true });
fs.mkdirSync(partialDir, { recursive: true });
fs.writeFileSync(path.join(fetchDir, `${name}.lock`), JSON.stringify(cfg.lock));
const prefix = fs.readFileSync(cfg.prefixFile);
const fd = fs.openSync(path.join(partialDir, name), 'w+');
fs.writeSync(fd, prefix, 0, prefix.length, 0);
const { ino } = fs.fstatSync(fd);
process.stdout.write('READY\n');
const garbage = randomBytes(256 * 1024);
const until = Date.now() + cfg.abuseMs;
let rounds = 0;
while (Date.now() < until) {
  rounds++;
  const len = Math.floor(Math.random() * prefix.length * 2);
  switch (rounds % 3) {
    case 0:
      fs.ftruncateSync(fd, Math.floor(len / 2)); // what a non-Range retry did to its partial in place
      break;
    case 1:
      fs.writeSync(fd, garbage, 0, garbage.length, len); // wrong bytes anywhere
      break;
    default:
      fs.writeSync(fd, prefix, 0, prefix.length, 0); // back to a plausible prefix
  }
  if (rounds % 64 === 0) await new Promise((r) => setImmediate(r));
}
fs.closeSync(fd);
report({ ino, rounds });
