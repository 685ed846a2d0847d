/**
 * Loaded with `node --require` by the npm test scripts; jest passes its node options on to its
 * worker processes, so this runs in each of them (and does nothing in jest's main process).
 *
 * Jest kills a worker that has not exited 500 ms after its end message and reports "A worker
 * process has failed to exit gracefully". No handle was left open: the workers emitted 'exit'
 * within 1 ms of the end message, and then spent 0.8-1 s tearing down a heap of ~1 GB (mostly
 * garbage) on the loaded two-core machine. A worker whose event loop is empty therefore leaves
 * with process.exit, which skips V8's page-by-page heap teardown (about half the time), and the
 * scripts cap the old generation (--max-old-space-size) so the heap stays near its live size.
 */
'use strict';
if (/jest-worker[\\/]build[\\/]workers[\\/]processChild\.js$/.test(process.argv[1] || '')) {
  process.once('beforeExit', (code) => process.exit(code));
}
