/**
 * A pki mount's issuers (CA certificates, each with an optional key), its keys and its CRLs, as
 * Vault's: several per mount, referred to by id, name or `default`.
 *
 * Invariants: private keys are opened only here, from the issuer repository, and only to sign (or
 * to match a certificate to its key); a key on an HSM (a managed key) is a Signer through the token
 * (pki-managed-keys.ts), opened only when it signs; the default issuer is the one `issue`, `sign`, `ca` and
 * `crl` use unless a request names another; an issuer signs only with the usages it holds; each
 * issuer has its own CRL, rebuilt with the next CRL number whenever a revocation or `crl/rotate`
 * changes it or it nears its nextUpdate, under the row lock of its state, so numbers only grow.
 */
import { createHash, createPrivateKey, createPublicKey, randomUUID, X509Certificate, type KeyObject } from 'node:crypto';
import { certificateParts, fromPem, type CertificateParts } from '../../crypto/x509/certificate';
import { softwareSigner, type Signer } from '../../crypto/signer';
import { badRequest } from '../../kernel/errors';
import type { EngineObjectRepository } from '../../shared/engine-objects.repository';
import type { CertificateRepository, CertType } from './certificate.repository';
import { certificateRecord } from './certificate-record';
import { chainAbove } from './issuer-chain';
import { issuerCrl, type CrlConfig } from './issuer-crl';
import type { IssuerRepository, IssuerRow, KeyMaterial } from './issuer.repository';
import type { PkiManagedKeys } from './pki-managed-keys';
import type { LeafNotAfterBehavior } from './validity';

export type { CrlConfig } from './issuer-crl';

/** Vault's issuer usages. */
export const ISSUER_USAGES = ['read-only', 'issuing-certificates', 'crl-signing', 'ocsp-signing'] as const;
export type IssuerUsage = (typeof ISSUER_USAGES)[number];
export const ALL_USAGES: IssuerUsage[] = [...ISSUER_USAGES];

export interface Issuer {
  id: string;
  name: string;
  keyId: string | null;
  /** Vault's colon hex of the certificate's serial. */
  serial: string;
  certDer: Buffer;
  certPem: string;
  /** The PEMs above this issuer, nearest first (empty for a root). */
  chainPem: string[];
  /** What signs with its key (software, or the HSM's); absent when the mount holds no key for the certificate (imported certificate only). */
  signer?: Signer;
  notAfter: Date;
  /** Its subject Name (DER) and key identifier: what certificates it signs name as their issuer. */
  nameDer: Buffer;
  subjectKeyId?: Buffer;
  leafNotAfterBehavior: LeafNotAfterBehavior;
  usage: IssuerUsage[];
  manualChain: string[];
  row: IssuerRow;
}

/** An issuer that can sign: its key is there. */
export type SigningIssuer = Issuer & { signer: Signer };

/** A key to store: a software private key, or a managed key (by id) with its public half. */
export type NewKey = KeyObject | { managedKeyId: string; publicKey: KeyObject };

export interface IssuersConfig {
  default: string;
  defaultFollowsLatestIssuer: boolean;
  /** Undefined on mounts of the first increment: the default issuer's key is the default key. */
  defaultKey?: string;
  /** Bumped by every change to the mount's issuers (or this config): what opened issuers are cached under. */
  generation: number;
}

interface StoredConfig {
  /** The first increment's name of `default`. */
  defaultSerial?: string;
  default?: string;
  defaultFollowsLatestIssuer?: boolean;
  defaultKey?: string;
  generation?: number;
}

/** A mount's opened issuers under one generation of its config: by reference (null: none), and all of them. */
interface CacheEntry {
  generation: number;
  byRef: Map<string, Issuer | null>;
  all?: Issuer[];
}

const CONFIG = 'issuers';
const sha256Hex = (der: Buffer) => createHash('sha256').update(der).digest('hex');

/** Usages as Vault names them in answers: sorted, comma-joined. */
export const usageNames = (usage: readonly string[]) => [...new Set(['read-only', ...usage])].sort().join(',');

export class IssuerStore {
  /**
   * Opened keys (a managed key: its id) by mount/key id and parsed certificates by mount/issuer id:
   * neither ever changes under its id; forgotten at seal.
   */
  private readonly openedKeys = new Map<string, KeyObject | string>();
  private readonly parsed = new Map<string, { x509: X509Certificate; parts: CertificateParts; der: Buffer }>();
  /**
   * Opened issuers by mount, valid while its config's generation stays: every change to an issuer
   * writes its rows first, then bumps the generation (through the engine objects, so every node
   * drops its cached config on commit), so a reader never keeps an issuer older than the generation
   * it read.
   */
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly objects: EngineObjectRepository,
    private readonly certificates: CertificateRepository,
    readonly repo: IssuerRepository,
    readonly managed: PkiManagedKeys,
  ) {}

  /** Forgets every opened key (at seal). */
  clear(): void {
    this.managed.clear();
    this.openedKeys.clear();
    this.parsed.clear();
    this.cache.clear();
  }

  async config(mountUuid: string): Promise<IssuersConfig> {
    const stored = (await this.objects.get<StoredConfig>(mountUuid, 'pki-config', CONFIG)) ?? {};
    return {
      default: stored.default ?? stored.defaultSerial ?? '',
      defaultFollowsLatestIssuer: stored.defaultFollowsLatestIssuer ?? false,
      defaultKey: stored.defaultKey,
      generation: stored.generation ?? 0,
    };
  }

  /** Changes the config (an empty change: only bumps the generation, after a change to an issuer row). */
  async setConfig(mountUuid: string, change: Partial<Omit<IssuersConfig, 'generation'>>): Promise<IssuersConfig> {
    const current = await this.config(mountUuid);
    const next = { ...current, ...change, generation: current.generation + 1 };
    // defaultSerial too: what the first increment's code reads after a down migration (its issuers keep their serial as id).
    const stored: StoredConfig = {
      default: next.default,
      defaultSerial: next.default,
      defaultFollowsLatestIssuer: next.defaultFollowsLatestIssuer,
      defaultKey: next.defaultKey,
      generation: next.generation,
    };
    await this.objects.put(mountUuid, 'pki-config', CONFIG, stored);
    return next;
  }

  /** After an issuer row changed: opened issuers of the mount are stale everywhere. */
  private touched(mountUuid: string): Promise<IssuersConfig> {
    return this.setConfig(mountUuid, {});
  }

  private async entry(mountUuid: string): Promise<{ config: IssuersConfig; entry: CacheEntry }> {
    const config = await this.config(mountUuid);
    let entry = this.cache.get(mountUuid);
    if (!entry || entry.generation !== config.generation) {
      entry = { generation: config.generation, byRef: new Map() };
      this.cache.set(mountUuid, entry);
    }
    return { config, entry };
  }

  /** The issuer `ref` (an id, a name or `default`) names, opened; undefined when none. */
  async byRef(mountUuid: string, ref: string): Promise<Issuer | undefined> {
    const trimmed = ref.trim();
    const key = trimmed.toLowerCase() === 'default' ? 'default' : trimmed;
    const { config, entry } = await this.entry(mountUuid);
    const cached = entry.byRef.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const row =
      key !== 'default' ? await this.repo.issuerByIdOrName(mountUuid, key) : config.default ? await this.repo.issuer(mountUuid, config.default) : undefined;
    const issuer = row ? await this.open(mountUuid, row) : undefined;
    entry.byRef.set(key, issuer ?? null);
    return issuer;
  }

  /** The issuer id `ref` (an id, a name or `default`) names; undefined when none. */
  async resolve(mountUuid: string, ref: string): Promise<string | undefined> {
    return (await this.byRef(mountUuid, ref))?.id;
  }

  /** The key id `ref` (an id, a name or `default`) names; undefined when none. */
  async resolveKey(mountUuid: string, ref: string): Promise<string | undefined> {
    const trimmed = ref.trim();
    if (trimmed.toLowerCase() === 'default') {
      const config = await this.config(mountUuid);
      if (config.defaultKey !== undefined) return config.defaultKey || undefined;
      // The first increment had no key config: the default issuer's key was the default key.
      return config.default ? ((await this.repo.issuer(mountUuid, config.default))?.keyId ?? undefined) : undefined;
    }
    if (await this.repo.key(mountUuid, trimmed)) return trimmed;
    return this.repo.keyIdByName(mountUuid, trimmed);
  }

  /** The issuer `ref` names, or Vault's 400. */
  async require(mountUuid: string, ref: string): Promise<Issuer> {
    const issuer = await this.byRef(mountUuid, ref);
    if (issuer) return issuer;
    if (ref.trim().toLowerCase() === 'default') throw badRequest('no default issuer currently configured (generate or import a CA first)');
    throw badRequest(`unable to find PKI issuer for reference: ${ref}`);
  }

  /** The issuer `ref` names, able to sign for `usage` (its key there, the usage held), or Vault's 400. */
  async signer(mountUuid: string, ref: string, usage: IssuerUsage = 'issuing-certificates'): Promise<SigningIssuer> {
    const issuer = await this.require(mountUuid, ref);
    if (!issuer.usage.includes(usage))
      throw badRequest(`error while attempting to use issuer ${issuer.id}: requested usage ${usage} but only had usage ${usageNames(issuer.usage)}`);
    if (!issuer.signer) throw badRequest(`unable to fetch corresponding key for issuer ${issuer.id}; unable to use this issuer for signing`);
    return issuer as SigningIssuer;
  }

  /** The default issuer, opened; undefined when the mount has none. */
  async default(mountUuid: string): Promise<Issuer | undefined> {
    return this.byRef(mountUuid, 'default');
  }

  async all(mountUuid: string): Promise<Issuer[]> {
    const { entry } = await this.entry(mountUuid);
    if (entry.all) return entry.all;
    const rows = await this.repo.issuers(mountUuid);
    const all = await Promise.all(rows.map((r) => this.open(mountUuid, r, rows)));
    entry.all = all;
    return all;
  }

  async byId(mountUuid: string, id: string): Promise<Issuer | undefined> {
    const issuer = await this.byRef(mountUuid, id);
    return issuer?.id === id ? issuer : undefined;
  }

  /** Writes an issuer's changeable fields. */
  async update(mountUuid: string, row: IssuerRow): Promise<void> {
    await this.repo.updateIssuer(mountUuid, row);
    await this.touched(mountUuid);
  }

  /** Deletes every issuer and key of the mount and their CRLs. */
  async deleteAll(mountUuid: string): Promise<void> {
    for (const id of await this.repo.deleteAll(mountUuid)) await this.objects.delete(mountUuid, 'pki-config', `crl-${id}`);
    await this.setConfig(mountUuid, { default: '', defaultKey: '' });
  }

  /** A key, opened, or its managed key's id (cached: a key id never names other material). */
  private async material(mountUuid: string, keyId: string): Promise<KeyObject | string | undefined> {
    const cacheKey = `${mountUuid}/${keyId}`;
    const cached = this.openedKeys.get(cacheKey);
    if (cached) return cached;
    const material = await this.repo.keyMaterial(mountUuid, keyId);
    if (!material) return undefined;
    const key = 'pkcs8' in material ? createPrivateKey({ key: material.pkcs8, format: 'der', type: 'pkcs8' }) : material.managedKeyId;
    this.openedKeys.set(cacheKey, key);
    return key;
  }

  /** A software key, opened; undefined when there is none (or the key is on an HSM). */
  async openKey(mountUuid: string, keyId: string): Promise<KeyObject | undefined> {
    const material = await this.material(mountUuid, keyId);
    return typeof material === 'string' ? undefined : material;
  }

  /** The managed key a key is, if it is on an HSM. */
  async managedKeyOf(mountUuid: string, keyId: string): Promise<string | undefined> {
    const material = await this.material(mountUuid, keyId);
    return typeof material === 'string' ? material : undefined;
  }

  /**
   * What signs with a key: a software signer, or the HSM's through its managed key, whose public
   * half is `publicKey` (an issuer's certificate's; else read from the token now).
   */
  async openSigner(mountUuid: string, keyId: string, publicKey?: KeyObject): Promise<Signer | undefined> {
    const material = await this.material(mountUuid, keyId);
    if (material === undefined) return undefined;
    if (typeof material !== 'string') return softwareSigner(material);
    return this.managed.signer(mountUuid, material, publicKey ?? (await this.managed.publicKey(mountUuid, material)));
  }

  /** A key's public half: from the key, else from an issuer using it, else (a managed key) from the token. */
  async publicKeyOf(mountUuid: string, keyId: string): Promise<KeyObject | undefined> {
    const material = await this.material(mountUuid, keyId);
    if (material === undefined) return undefined;
    if (typeof material !== 'string') return createPublicKey(material);
    const [issuerId] = await this.repo.issuersOfKey(mountUuid, keyId);
    const issuer = issuerId ? await this.byId(mountUuid, issuerId) : undefined;
    return issuer?.signer?.publicKey ?? (await this.managed.publicKey(mountUuid, material));
  }

  private parse(mountUuid: string, row: IssuerRow) {
    const cacheKey = `${mountUuid}/${row.id}`;
    let p = this.parsed.get(cacheKey);
    if (!p) {
      const [der] = fromPem(row.certificatePem, 'CERTIFICATE');
      p = { der, x509: new X509Certificate(der), parts: certificateParts(der) };
      this.parsed.set(cacheKey, p);
    }
    return p;
  }

  private async open(mountUuid: string, row: IssuerRow, rows?: IssuerRow[]): Promise<Issuer> {
    if (row.chainPem === null) {
      // The first increment kept the chain an issuer was installed with in the engine objects.
      row.chainPem = (await this.objects.get<{ chainPem: string[] }>(mountUuid, 'pki-issuer', row.id))?.chainPem ?? [];
      await this.repo.setMigratedChain(mountUuid, row.id, row.chainPem);
    }
    const { der, parts } = this.parse(mountUuid, row);
    const signer = row.keyId ? await this.openSigner(mountUuid, row.keyId, parts.publicKey) : undefined;
    return {
      id: row.id,
      name: row.name,
      keyId: row.keyId,
      serial: row.serialNumber,
      certDer: der,
      certPem: row.certificatePem,
      chainPem: await this.chainAbove(mountUuid, row, rows),
      signer,
      notAfter: parts.notAfter,
      nameDer: parts.subjectNameDer,
      subjectKeyId: parts.subjectKeyId,
      leafNotAfterBehavior: row.leafNotAfterBehavior,
      usage: row.usage as IssuerUsage[],
      manualChain: row.manualChain,
      row,
    };
  }

  /** The certificates above an issuer, nearest first (issuer-chain.ts). */
  private async chainAbove(mountUuid: string, row: IssuerRow, rows?: IssuerRow[]): Promise<string[]> {
    return chainAbove(
      row,
      (r) => this.parse(mountUuid, r).x509,
      async () => rows ?? (await this.repo.issuers(mountUuid)),
    );
  }

  /**
   * Stores a key (or finds the stored one with the same public key: Vault's re-import; a unique
   * index settles two imports at once) and links it to the mount's key-less issuers whose
   * certificate carries its public key.
   */
  async importKey(mountUuid: string, key: NewKey, name = ''): Promise<{ id: string; existing: boolean }> {
    const managed = 'managedKeyId' in key;
    const spki = (managed ? key.publicKey : createPublicKey(key)).export({ format: 'der', type: 'spki' });
    const known = await this.keyIdFor(mountUuid, spki);
    if (known) return { id: known, existing: true };
    const material: KeyMaterial = managed ? { managedKeyId: key.managedKeyId } : { pkcs8: key.export({ format: 'der', type: 'pkcs8' }) };
    const stored = await this.repo.insertKey(mountUuid, randomUUID(), name, material, sha256Hex(spki));
    if (stored.existing) return stored;
    if ((await this.resolveKey(mountUuid, 'default')) === undefined) await this.setConfig(mountUuid, { defaultKey: stored.id });
    for (const row of await this.repo.issuers(mountUuid)) {
      if (row.keyId || !this.parse(mountUuid, row).parts.publicKeyDer.equals(spki)) continue;
      if (!(await this.repo.linkKey(mountUuid, row.id, stored.id))) continue;
      await this.setConfig(mountUuid, (await this.config(mountUuid)).default ? {} : { default: row.id });
    }
    return stored;
  }

  /** The stored key whose public half is in the certificate, if any. */
  async keyFor(mountUuid: string, parts: CertificateParts): Promise<string | undefined> {
    return this.keyIdFor(mountUuid, parts.publicKeyDer);
  }

  /** The stored key with this public key (SPKI DER): by fingerprint; migrated keys are fingerprinted on the way. */
  private async keyIdFor(mountUuid: string, spki: Buffer): Promise<string | undefined> {
    const fingerprint = sha256Hex(spki);
    const known = await this.repo.keyIdByPublicKey(mountUuid, fingerprint);
    if (known) return known;
    let found: string | undefined;
    for (const id of await this.repo.keysWithoutFingerprint(mountUuid)) {
      const key = await this.openKey(mountUuid, id);
      if (!key) continue;
      const own = sha256Hex(createPublicKey(key).export({ format: 'der', type: 'spki' }));
      await this.repo.setKeyFingerprint(mountUuid, id, own);
      if (own === fingerprint) found ??= id;
    }
    return found;
  }

  /**
   * Records a CA certificate as an issuer (or finds the issuer already holding it: Vault's
   * re-import), with the stored key matching it when there is one; it becomes the default when
   * the mount has none (or follows the latest, when so configured) and it has a key.
   */
  async importIssuer(
    mountUuid: string,
    certDer: Buffer,
    options: {
      chainPem?: string[];
      certType?: Extract<CertType, 'root_ca' | 'intermediate_ca'>;
      signedBy?: string | null;
      name?: string;
      keyId?: string;
      makeDefault?: boolean;
      followLatest?: boolean;
    } = {},
  ): Promise<{ issuer: Issuer; existing: boolean }> {
    const fingerprint = sha256Hex(certDer);
    const known = await this.repo.issuerIdByFingerprint(mountUuid, fingerprint);
    if (known) return { issuer: (await this.byId(mountUuid, known)) as Issuer, existing: true };
    const parts = certificateParts(certDer);
    const keyId = options.keyId ?? (await this.keyFor(mountUuid, parts)) ?? null;
    const newId = randomUUID();
    const selfSigned = parts.subjectNameDer.equals(parts.issuerNameDer);
    const record = certificateRecord(
      certDer,
      options.certType ?? (selfSigned ? 'root_ca' : 'intermediate_ca'),
      options.signedBy === undefined ? (selfSigned ? newId : null) : options.signedBy,
      ['CertSign', 'CRLSign'],
    );
    const crlSign = parts.keyUsage.length === 0 || parts.keyUsage.includes('cRLSign');
    const { id, existing } = await this.repo.insertIssuer(
      mountUuid,
      {
        id: newId,
        name: options.name ?? '',
        keyId,
        serialNumber: record.serialNumber,
        certificatePem: record.certificatePem,
        chainPem: options.chainPem ?? [],
        manualChain: [],
        leafNotAfterBehavior: 'err',
        usage: crlSign ? ALL_USAGES : ALL_USAGES.filter((u) => u !== 'crl-signing'),
      },
      fingerprint,
    );
    if (existing) return { issuer: (await this.byId(mountUuid, id)) as Issuer, existing };
    if (!(await this.certificates.get(mountUuid, record.serialNumber))) await this.certificates.insert(mountUuid, record);
    const config = await this.config(mountUuid);
    const followsLatest = config.defaultFollowsLatestIssuer && options.followLatest !== false;
    await this.setConfig(mountUuid, keyId && (options.makeDefault ?? (!config.default || followsLatest)) ? { default: id } : {});
    return { issuer: (await this.byId(mountUuid, id)) as Issuer, existing: false };
  }

  /** A CA certificate this mount just made, with its key (new, or stored under `keyId`). */
  async add(
    mountUuid: string,
    certDer: Buffer,
    key: NewKey,
    chainPem: string[],
    certType: Extract<CertType, 'root_ca' | 'intermediate_ca'>,
    options: { name?: string; keyId?: string; keyName?: string; signedBy?: string | null; makeDefault?: boolean } = {},
  ): Promise<SigningIssuer> {
    const keyId = options.keyId ?? (await this.importKey(mountUuid, key, options.keyName)).id;
    const { issuer } = await this.importIssuer(mountUuid, certDer, {
      chainPem,
      certType,
      name: options.name,
      keyId,
      signedBy: options.signedBy,
      makeDefault: options.makeDefault,
    });
    return issuer as SigningIssuer;
  }

  /** Deletes an issuer and its CRL; gives whether it was the default (which is then unset). */
  async delete(mountUuid: string, id: string): Promise<boolean> {
    await this.repo.deleteIssuer(mountUuid, id);
    await this.objects.delete(mountUuid, 'pki-config', `crl-${id}`);
    const wasDefault = (await this.config(mountUuid)).default === id;
    await this.setConfig(mountUuid, wasDefault ? { default: '' } : {});
    return wasDefault;
  }

  /**
   * The issuer and the mount's other issuers with the same key and subject (a root and its
   * cross-signed copy): one CA to relying parties, so they share revocations (Vault's CRLs too).
   */
  async sameCa(mountUuid: string, issuer: Issuer): Promise<Issuer[]> {
    if (!issuer.keyId) return [issuer];
    return (await this.all(mountUuid)).filter((i) => i.id === issuer.id || (i.keyId === issuer.keyId && i.nameDer.equals(issuer.nameDer)));
  }

  /** Rebuilds the CRLs a revocation by this issuer changes: its own and those of the issuers that are the same CA. */
  async revoked(mountUuid: string, issuerId: string, config: CrlConfig): Promise<void> {
    const issuer = await this.byId(mountUuid, issuerId);
    if (!issuer) return;
    for (const i of await this.sameCa(mountUuid, issuer)) if (i.signer && i.usage.includes('crl-signing')) await this.crl(mountUuid, i, config, true);
  }

  /** The issuer's current CRL (DER), rebuilt when `rebuild` or when it is past half its life (issuer-crl.ts). */
  async crl(mountUuid: string, issuer: Issuer, config: CrlConfig, rebuild = false, now = new Date()): Promise<Buffer> {
    if (!issuer.signer) throw badRequest(`unable to fetch corresponding key for issuer ${issuer.id}; unable to use this issuer for signing`);
    const sameCa = async () => (await this.sameCa(mountUuid, issuer)).map((i) => i.id);
    return issuerCrl({ objects: this.objects, certificates: this.certificates }, mountUuid, { ...issuer, signer: issuer.signer }, sameCa, config, rebuild, now);
  }
}
