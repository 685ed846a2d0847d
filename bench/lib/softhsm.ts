/**
 * SoftHSM2 for the seal-start and pki-issue-ec-hsm benches (bench code does not import test/, so
 * this is the bench's own small copy of test/support/softhsm.ts): whether SoftHSM can be used here,
 * a token initialised with `softhsm2-util --init-token --free` in a private temporary directory
 * (its own softhsm2.conf, for SOFTHSM2_CONF), and the PKCS#11 calls of an auto-unseal timed one by
 * one.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pkcs11Binding, pkcs11BindingUnavailable } from '../../src/hsm/pkcs11-binding';
import { gcmMechanism } from '../../src/hsm/pkcs11-keys';

/** The SoftHSM2 PKCS#11 library (Debian's path; SOFTHSM2_LIB overrides it). */
export const SOFTHSM_LIB = process.env.SOFTHSM2_LIB ?? '/usr/lib/softhsm/libsofthsm2.so';
const UTIL = 'softhsm2-util';

/** Why SoftHSM cannot be used here (no softhsm2-util, no library, no pkcs11js), or undefined. */
export function softHsmUnavailable(): string | undefined {
  try {
    execFileSync(UTIL, ['--version'], { stdio: 'pipe', timeout: 10_000 });
  } catch (err) {
    return `${UTIL} cannot be run: ${(err as Error).message.split('\n')[0]}`;
  }
  if (!existsSync(SOFTHSM_LIB)) return `the SoftHSM2 library ${SOFTHSM_LIB} does not exist`;
  return pkcs11BindingUnavailable();
}

export interface SoftHsmToken {
  /** The private directory: softhsm2.conf and tokens/. */
  dir: string;
  /** Its softhsm2.conf, for SOFTHSM2_CONF. */
  conf: string;
  label: string;
  pin: string;
  /** Removes the directory and the token in it. */
  cleanup(): void;
}

/** A new token `label` in a new private temporary directory, with a random user PIN and SO PIN. */
export function createSoftHsmToken(label: string): SoftHsmToken {
  const dir = mkdtempSync(join(tmpdir(), 'secrethub-bench-softhsm-'));
  const conf = join(dir, 'softhsm2.conf');
  mkdirSync(join(dir, 'tokens'), { recursive: true, mode: 0o700 });
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`, { mode: 0o600 });
  const pin = randomBytes(8).toString('hex');
  try {
    execFileSync(UTIL, ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', randomBytes(8).toString('hex')], {
      env: { ...process.env, SOFTHSM2_CONF: conf },
      stdio: 'pipe',
      timeout: 30_000,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, conf, label, pin, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Milliseconds of each PKCS#11 step an auto-unseal takes, in a fresh process. */
export interface HsmPhases {
  /** require('pkcs11js') (the native addon). */
  requireBindingMs: number;
  /** PKCS11#load: dlopen of the library. */
  loadLibraryMs: number;
  C_InitializeMs: number;
  /** C_GetSlotList + C_GetTokenInfo of each slot, to find the token by label. */
  findSlotMs: number;
  C_OpenSessionMs: number;
  C_LoginMs: number;
  /** C_FindObjectsInit/C_FindObjects/C_FindObjectsFinal by label (the server looks the key up twice). */
  findKeyMs: number;
  /** C_DecryptInit + C_Decrypt of a 32-byte value wrapped with AES-GCM (the unwrap). */
  unwrapMs: number;
  totalMs: number;
}

/**
 * Runs an auto-unseal's PKCS#11 calls once, timing each, in this process (which must not have
 * initialised Cryptoki yet: SOFTHSM2_CONF is read at C_Initialize). The key `keyLabel` must exist.
 * A value is wrapped first (untimed, after the login) so that the unwrap has something to undo.
 */
export function measureHsmPhases(token: { conf: string; label: string; pin: string }, keyLabel: string): HsmPhases {
  process.env.SOFTHSM2_CONF = token.conf;
  const t = () => performance.now();
  const t0 = t();
  const p = pkcs11Binding();
  const t1 = t();
  const lib = new p.PKCS11();
  lib.load(SOFTHSM_LIB);
  const t2 = t();
  lib.C_Initialize({ flags: p.CKF_OS_LOCKING_OK });
  const t3 = t();
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trimEnd() === token.label);
    if (!slot) throw new Error(`no token labelled ${token.label}`);
    const t4 = t();
    const session = lib.C_OpenSession(slot, p.CKF_SERIAL_SESSION | p.CKF_RW_SESSION);
    const t5 = t();
    lib.C_Login(session, p.CKU_USER, token.pin);
    const t6 = t();
    lib.C_FindObjectsInit(session, [
      { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
      { type: p.CKA_LABEL, value: keyLabel },
    ]);
    const [key] = lib.C_FindObjects(session, 2);
    lib.C_FindObjectsFinal(session);
    if (!key) throw new Error(`no secret key labelled ${keyLabel}`);
    const t7 = t();
    const iv = randomBytes(12);
    const aad = Buffer.from('bench');
    lib.C_EncryptInit(session, gcmMechanism(p, iv, aad), key);
    const wrapped = lib.C_Encrypt(session, randomBytes(32), Buffer.alloc(64));
    const t8 = t();
    lib.C_DecryptInit(session, gcmMechanism(p, iv, aad), key);
    const plain = lib.C_Decrypt(session, wrapped, Buffer.alloc(64));
    const t9 = t();
    if (plain.length !== 32) throw new Error(`unwrap gave ${plain.length} bytes`);
    lib.C_CloseSession(session);
    const r = (ms: number) => Math.round(ms * 100) / 100;
    return {
      requireBindingMs: r(t1 - t0),
      loadLibraryMs: r(t2 - t1),
      C_InitializeMs: r(t3 - t2),
      findSlotMs: r(t4 - t3),
      C_OpenSessionMs: r(t5 - t4),
      C_LoginMs: r(t6 - t5),
      findKeyMs: r(t7 - t6),
      unwrapMs: r(t9 - t8),
      totalMs: r(t7 - t0 + (t9 - t8)),
    };
  } finally {
    lib.C_Finalize();
    lib.close();
  }
}
