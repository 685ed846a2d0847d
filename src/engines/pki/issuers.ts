/**
 * A pki mount's issuers (CA certificates it signs with) and its CRLs.
 *
 * Invariants: an issuer's private key leaves storage only as barrier ciphertext (PKCS#8 DER in the
 * `certificates` row) and is opened only to sign; the default issuer is the one `issue`, `sign`,
 * `ca`, `crl` and `ocsp` use; a CRL is rebuilt, with the next CRL number, whenever a revocation or
 * `crl/rotate` changes it or it nears its nextUpdate, under the row lock of its state, so numbers
 * only grow and a revocation is in the very next CRL served.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { certificateParts, fromPem, toPem } from '../../crypto/x509/certificate';
import { keyInfo } from '../../crypto/x509/keys';
import { buildCrl } from '../../crypto/x509/crl';
import { badRequest } from '../../kernel/errors';
import type { EngineObjectRepository } from '../engine-objects.repository';
import type { CertificateRepository, CertType } from './certificate.repository';
import { certificateRecord } from './certificate-record';

export interface Issuer {
  serial: string;
  certDer: Buffer;
  certPem: string;
  /** The PEMs above this issuer, nearest first (empty for a root). */
  chainPem: string[];
  key: KeyObject;
  notAfter: Date;
  /** Its subject Name (DER) and key identifier: what certificates it signs name as their issuer. */
  nameDer: Buffer;
  subjectKeyId?: Buffer;
}

interface IssuerConfig {
  defaultSerial?: string;
}

interface IssuerMeta {
  chainPem: string[];
}

interface CrlState {
  number: string;
  der: string;
  nextUpdate: number;
}

export interface CrlConfig {
  expirySeconds: number;
  disable: boolean;
}

const CONFIG = 'issuers';

export class IssuerStore {
  /** Opened issuers by mount and serial, and each mount's default serial: both only ever set once, so cached until seal. */
  private readonly opened = new Map<string, Issuer>();
  private readonly defaults = new Map<string, string>();

  constructor(
    private readonly objects: EngineObjectRepository,
    private readonly certificates: CertificateRepository,
  ) {}

  /** Records a CA certificate with its key; it becomes the default issuer when there is none. */
  async add(mountUuid: string, certDer: Buffer, key: KeyObject, chainPem: string[], certType: Extract<CertType, 'root_ca' | 'intermediate_ca'>, issuerSerial: string | null): Promise<Issuer> {
    const parts = certificateParts(certDer);
    const record = certificateRecord(certDer, certType, issuerSerial, ['CertSign', 'CRLSign']);
    const serial = record.serialNumber;
    await this.certificates.insert(mountUuid, record, key.export({ format: 'der', type: 'pkcs8' }));
    await this.objects.put(mountUuid, 'pki-issuer', serial, { chainPem } satisfies IssuerMeta);
    const config = await this.objects.get<IssuerConfig>(mountUuid, 'pki-config', CONFIG);
    if (!config?.defaultSerial) await this.objects.put(mountUuid, 'pki-config', CONFIG, { defaultSerial: serial } satisfies IssuerConfig);
    return { serial, certDer, certPem: toPem(certDer, 'CERTIFICATE'), chainPem, key, notAfter: parts.notAfter, nameDer: parts.subjectNameDer, subjectKeyId: parts.subjectKeyId };
  }

  /** Forgets every opened key (at seal). */
  clear(): void {
    this.opened.clear();
    this.defaults.clear();
  }

  /** The default issuer, with its key opened; undefined when the mount has none yet. */
  async default(mountUuid: string): Promise<Issuer | undefined> {
    let serial = this.defaults.get(mountUuid);
    if (!serial) {
      serial = (await this.objects.get<IssuerConfig>(mountUuid, 'pki-config', CONFIG))?.defaultSerial;
      if (!serial) return undefined;
      this.defaults.set(mountUuid, serial);
    }
    return this.bySerial(mountUuid, serial);
  }

  /** Every issuer's serial (Vault's issuer id here), in serial order. */
  async serials(mountUuid: string): Promise<string[]> {
    return this.objects.names(mountUuid, 'pki-issuer');
  }

  /** The default issuer, or a 400 saying there is none yet. */
  async requireDefault(mountUuid: string): Promise<Issuer> {
    const issuer = await this.default(mountUuid);
    if (!issuer) throw badRequest('no default issuer currently configured (generate or import a CA first)');
    return issuer;
  }

  async bySerial(mountUuid: string, serial: string): Promise<Issuer | undefined> {
    const key = `${mountUuid}/${serial}`;
    const cached = this.opened.get(key);
    if (cached) return cached;
    const issuer = await this.open(mountUuid, serial);
    // An issuer's certificate, key and chain never change once stored; a mount's rows go with it (a new mount has a new uuid).
    if (issuer) this.opened.set(key, issuer);
    return issuer;
  }

  private async open(mountUuid: string, serial: string): Promise<Issuer | undefined> {
    const record = await this.certificates.get(mountUuid, serial);
    const keyDer = await this.certificates.privateKey(mountUuid, serial);
    if (!record || !keyDer) return undefined;
    const meta = await this.objects.get<IssuerMeta>(mountUuid, 'pki-issuer', serial);
    const [certDer] = fromPem(record.certificatePem, 'CERTIFICATE');
    const parts = certificateParts(certDer);
    return { serial, certDer, certPem: record.certificatePem, chainPem: meta?.chainPem ?? [], key: createPrivateKey({ key: keyDer, format: 'der', type: 'pkcs8' }), notAfter: record.validUntil, nameDer: parts.subjectNameDer, subjectKeyId: parts.subjectKeyId };
  }

  /** The issuer's current CRL (DER), rebuilt when `rebuild` or when it is past half its life. */
  async crl(mountUuid: string, issuer: Issuer, config: CrlConfig, rebuild = false, now = new Date()): Promise<Buffer> {
    const stateName = `crl-${issuer.serial}`;
    const current = await this.objects.get<CrlState>(mountUuid, 'pki-config', stateName);
    const fresh = current && !rebuild && current.nextUpdate - now.getTime() > (config.expirySeconds * 1000) / 2;
    if (fresh) return Buffer.from(current.der, 'base64');
    const build = async (previous: CrlState | undefined): Promise<CrlState> => {
      const revoked = await this.certificates.revokedBy(mountUuid, issuer.serial, now);
      const number = BigInt(previous?.number ?? '0') + 1n;
      const nextUpdate = new Date(now.getTime() + config.expirySeconds * 1000);
      const der = buildCrl({
        issuerCertDer: issuer.certDer,
        issuerKey: issuer.key,
        thisUpdate: now,
        nextUpdate,
        crlNumber: number,
        revoked: revoked.map((r) => ({ serial: Buffer.from(r.serialNumber.replace(/:/g, ''), 'hex'), revokedAt: r.revokedAt })),
      });
      return { number: number.toString(), der: der.toString('base64'), nextUpdate: nextUpdate.getTime() };
    };
    if (!current) {
      const first = await build(undefined);
      await this.objects.put(mountUuid, 'pki-config', stateName, first);
      return Buffer.from(first.der, 'base64');
    }
    // Built outside the row lock (signing can be slow); kept only if nobody rebuilt meanwhile, else theirs is served.
    const next = await build(current);
    const stored = await this.objects.modify<CrlState>(mountUuid, 'pki-config', stateName, (cur) => (cur.number === current.number ? next : undefined));
    return Buffer.from((stored ?? next).der, 'base64');
  }
}

/** Vault's private_key_type of a key. */
export const privateKeyType = (key: KeyObject) => keyInfo(key).type;
