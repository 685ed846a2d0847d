/**
 * The sign and verify handlers with a managed_key key, whose operations go through the
 * `TransitManagedKeys` hook (a software Signer stands in for the token): what a token can sign
 * round-trips and verifies in node, and each signature is counted against its version; what it
 * cannot answers 400; without the hook, managed keys are refused. (Every other key type is covered
 * over HTTP by test/e2e/transit-sign.test.ts.)
 */
import { constants, generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { softwareSigner } from '../../crypto/signer';
import type { MountEntry } from '../../framework/backend';
import type { LogicalResponse, RequestContext, RouteDefinition } from '../../framework/route';
import { ApiError } from '../../kernel/errors';
import type { TransitDeps } from './transit-common';
import type { TransitKeyStore } from './transit-key-store';
import { transitSignPaths } from './transit-sign.paths';
import type { TransitUsage, UsageKey } from './transit-usage';
import type { TransitKeyPolicy } from './transit.repository';

const INPUT = Buffer.from('signed by a token');

function managedPolicy(): TransitKeyPolicy {
  return {
    name: 'm',
    type: 'managed_key',
    latestVersion: 1,
    minDecryptionVersion: 1,
    minEncryptionVersion: 0,
    minAvailableVersion: 0,
    deletionAllowed: false,
    derived: false,
    kdf: 1,
    convergentEncryption: false,
    convergentVersion: 0,
    exportable: false,
    allowPlaintextBackup: false,
    autoRotatePeriod: 0,
    keySize: 0,
    importedKey: false,
    allowImportedKeyRotation: false,
    managedKeyName: 'token-key',
    managedKeyId: null,
    backupInfo: null,
    restoreInfo: null,
    autoRotateAfterOperations: 0,
    failedRotations: 0,
    versions: { '1': { createdAt: new Date(), convergentVersion: 0, publicKeyOnly: false, operations: 7 } },
  };
}

/** Each counted signature: the version and the stored count the handler passed. */
let counted: { key: UsageKey; stored: number; threshold: number }[] = [];

function routesFor(privateKey: KeyObject | undefined): RouteDefinition[] {
  const store = { policy: async () => managedPolicy(), material: async () => undefined } as unknown as TransitKeyStore;
  const usage = { count: async (key: UsageKey, stored: number, threshold: number) => void counted.push({ key, stored, threshold }) } as unknown as TransitUsage;
  const deps: TransitDeps = { store, usage };
  if (privateKey)
    deps.managed = {
      resolve: async () => {
        throw new Error('not used');
      },
      encrypter: async () => {
        throw new Error('not used');
      },
      signer: async () => softwareSigner(privateKey),
    };
  return transitSignPaths(deps);
}

async function run(routes: RouteDefinition[], path: string, data: Record<string, unknown>, hash?: string): Promise<Record<string, unknown>> {
  const definition = routes.find((r) => r.path === (hash ? `${path}/:hash_algorithm` : path)) as RouteDefinition;
  const ctx = { params: { name: 'm', ...(hash ? { hash_algorithm: hash } : {}) }, data, mount: { uuid: 'mount' } as MountEntry } as unknown as RequestContext;
  const response = (await definition.handlers.update?.(ctx)) as LogicalResponse;
  return response.data as Record<string, unknown>;
}

async function error(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) return err.errors[0];
    throw err;
  }
  throw new Error('expected a 400');
}

describe('transit sign/verify with managed keys', () => {
  beforeEach(() => {
    counted = [];
  });

  it('ECDSA: asn1 and jws through the Signer; verify uses its public key; what a token cannot do is a 400', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const routes = routesFor(privateKey);
    const signed = await run(routes, 'sign/:name', { input: INPUT.toString('base64') }, 'sha2-384');
    expect(signed).toEqual({ signature: expect.stringMatching(/^vault:v1:/), key_version: 1 });
    const der = Buffer.from((signed.signature as string).split(':')[2], 'base64');
    expect(verify('sha384', INPUT, publicKey, der)).toBe(true);
    expect(counted).toEqual([{ key: { mountUuid: 'mount', name: 'm', version: 1 }, stored: 7, threshold: Infinity }]);
    expect(await run(routes, 'verify/:name', { input: INPUT.toString('base64'), signature: signed.signature }, 'sha2-384')).toEqual({ valid: true });
    expect(await run(routes, 'verify/:name', { input: INPUT.toString('base64'), signature: signed.signature })).toEqual({ valid: false });

    const jws = await run(routes, 'sign/:name', { input: INPUT.toString('base64'), marshaling_algorithm: 'jws' });
    const raw = Buffer.from((jws.signature as string).split(':')[2], 'base64url');
    expect(raw.length).toBe(96);
    expect(verify('sha256', INPUT, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);

    expect(await error(run(routes, 'sign/:name', { input: INPUT.toString('base64') }, 'sha3-256'))).toBe(
      'hash algorithm sha3-256 is not supported for managed keys',
    );
    expect(await error(run(routes, 'sign/:name', { input: INPUT.toString('base64'), prehashed: true }))).toBe(
      'prehashed input is not supported for managed keys',
    );
  });

  it('RSA: PSS signs with a hash-length salt (auto verifiers accept it), PKCS#1 v1.5 as asked', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const routes = routesFor(privateKey);
    const pss = await run(routes, 'sign/:name', { input: INPUT.toString('base64') });
    const pssSig = Buffer.from((pss.signature as string).split(':')[2], 'base64');
    expect(verify('sha256', INPUT, { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, pssSig)).toBe(true);
    expect(await run(routes, 'verify/:name', { input: INPUT.toString('base64'), signature: pss.signature })).toEqual({ valid: true });
    expect(await run(routes, 'verify/:name', { input: INPUT.toString('base64'), signature: pss.signature, salt_length: 'hash' })).toEqual({ valid: true });
    const pkcs = await run(routes, 'sign/:name', { input: INPUT.toString('base64'), signature_algorithm: 'pkcs1v15' }, 'sha2-512');
    expect(verify('sha512', INPUT, publicKey, Buffer.from((pkcs.signature as string).split(':')[2], 'base64'))).toBe(true);
    expect(await error(run(routes, 'sign/:name', { input: INPUT.toString('base64'), salt_length: '20' }))).toBe(
      'requested salt length 20 is not supported for managed keys (only the hash length)',
    );
  });

  it("ed25519: pure Ed25519; Ed25519ph is refused with Vault CE's message", async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const routes = routesFor(privateKey);
    const signed = await run(routes, 'sign/:name', { input: INPUT.toString('base64') });
    expect(verify(null, INPUT, publicKey, Buffer.from((signed.signature as string).split(':')[2], 'base64'))).toBe(true);
    expect(await error(run(routes, 'sign/:name', { input: INPUT.toString('base64'), prehashed: true }))).toBe(
      'failed to parse batch item: only Pure Ed25519 signatures supported, prehashed must be false',
    );
  });

  it('without the managed-key hook, managed keys do not sign, verify or HMAC', async () => {
    const routes = routesFor(undefined);
    expect(await error(run(routes, 'sign/:name', { input: '' }))).toBe('managed keys are not supported for signing yet');
    expect(await error(run(routes, 'verify/:name', { input: '', signature: 'vault:v1:AA==' }))).toBe('managed keys are not supported for signing yet');
    expect(await error(run(routes, 'hmac/:name', { input: '' }))).toBe('managed keys are not supported for HMAC yet');
  });
});
