/**
 * Child process of the seal-start bench: times an auto-unseal's PKCS#11 calls once in a fresh
 * process (as the server makes them at start) and prints them as one line of JSON.
 * Usage: node dist/bench/hsm-phases.js '{"conf":…,"label":…,"pin":…,"keyLabel":…}'
 */
import { measureHsmPhases } from './lib/softhsm';

const arg = JSON.parse(process.argv[2] ?? '{}') as { conf: string; label: string; pin: string; keyLabel: string };
process.stdout.write(JSON.stringify(measureHsmPhases(arg, arg.keyLabel)) + '\n');
