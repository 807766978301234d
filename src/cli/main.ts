#!/usr/bin/env node
/**
 * The `mote` executable (package `bin`): runs the CLI and exits with its code (see exit-codes.ts).
 */
import { run } from './program.js';

process.exitCode = await run(process.argv);
// Everything the command opened is closed by now, so Node exits by itself once stdout has drained. Should some
// handle stay referenced anyway, this unref'd timer ends the process rather than leaving it hanging.
setTimeout(() => process.exit(), 2000).unref();
