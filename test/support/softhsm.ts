/**
 * SoftHSM2 tokens for tests of the PKCS#11 layer.
 *
 * SoftHSM reads SOFTHSM2_CONF at C_Initialize, and Cryptoki is initialised once per process: a test
 * file therefore calls `useSoftHsmConf(conf)` with its token directory's conf before the first
 * `open()`, creates all its tokens in that one directory (pass `dir` for the second and later
 * tokens), and closes every token in afterAll (so that the library is finalised before the next
 * file in the same worker initialises it with its own conf). Tokens created after the library was
 * initialised are invisible until it is reinitialised (`reopen()`).
 *
 * A test that needs SoftHSM declares it with `describeWithSoftHsm`: without `softhsm2-util`, the
 * library or the pkcs11js binding its tests are skipped with the reason in their name, or fail
 * under CI=true (CI installs SoftHSM and builds pkcs11js).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInThisContext } from 'node:vm';
import { pkcs11BindingUnavailable } from '../../src/hsm/pkcs11-binding';
import { describeUnless } from './services';

/** The SoftHSM2 PKCS#11 library (Debian's path; SOFTHSM2_LIB overrides it). */
export const SOFTHSM_LIB = process.env.SOFTHSM2_LIB ?? '/usr/lib/softhsm/libsofthsm2.so';
const UTIL = 'softhsm2-util';

let unavailable: { reason: string | undefined } | undefined;

/** Why SoftHSM cannot be used here (no softhsm2-util, no library, no pkcs11js), or undefined. */
export function softHsmUnavailable(): string | undefined {
  unavailable ??= { reason: probe() };
  return unavailable.reason;
}

function probe(): string | undefined {
  try {
    execFileSync(UTIL, ['--version'], { stdio: 'pipe', timeout: 10_000 });
  } catch (err) {
    return `${UTIL} cannot be run: ${(err as Error).message.split('\n')[0]}`;
  }
  if (!existsSync(SOFTHSM_LIB)) return `the SoftHSM2 library ${SOFTHSM_LIB} does not exist`;
  return pkcs11BindingUnavailable();
}

/** `describe` for tests that need SoftHSM: skipped with the reason when it is unavailable, failing under CI=true. */
export function describeWithSoftHsm(name: string, fn: () => void): void {
  describeUnless(softHsmUnavailable(), 'SoftHSM2 and pkcs11js', name, fn);
}

/**
 * Points SoftHSM at `conf` for the next C_Initialize of this process. Jest gives a test file a copy
 * of process.env, which the native library never sees: the variable is set on the real process
 * (the main context's, reached with vm.runInThisContext) as well as on the copy.
 */
export function useSoftHsmConf(conf: string): void {
  const realProcess = runInThisContext('process') as NodeJS.Process;
  realProcess.env.SOFTHSM2_CONF = conf;
  process.env.SOFTHSM2_CONF = conf;
}

export interface SoftHsmToken {
  /** The private directory: softhsm2.conf and tokens/. */
  dir: string;
  /** Its softhsm2.conf, for SOFTHSM2_CONF. */
  conf: string;
  /** The slot id SoftHSM reassigned the token to. */
  slot: bigint;
  /** Deletes the token, and the directory when this call created it. */
  cleanup(): void;
}

/**
 * Initialises a token `label` with these PINs in `dir` (a new private temp directory when not
 * given) with `softhsm2-util --init-token --free`.
 */
export function createSoftHsmToken(options: { label: string; pin: string; soPin: string; dir?: string }): SoftHsmToken {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'secrethub-softhsm-'));
  const conf = join(dir, 'softhsm2.conf');
  if (!existsSync(conf)) {
    mkdirSync(join(dir, 'tokens'), { recursive: true, mode: 0o700 });
    writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`, { mode: 0o600 });
  }
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  const out = execFileSync(UTIL, ['--init-token', '--free', '--label', options.label, '--pin', options.pin, '--so-pin', options.soPin], {
    env,
    encoding: 'utf8',
    stdio: 'pipe',
    timeout: 30_000,
  });
  const match = /reassigned to slot (\d+)/.exec(out);
  if (!match) throw new Error(`${UTIL} --init-token did not say which slot it used: ${out.trim()}`);
  return {
    dir,
    conf,
    slot: BigInt(match[1]),
    cleanup() {
      if (ownDir) rmSync(dir, { recursive: true, force: true });
      else if (existsSync(join(dir, 'tokens'))) execFileSync(UTIL, ['--delete-token', '--token', options.label], { env, stdio: 'pipe', timeout: 30_000 });
    },
  };
}
