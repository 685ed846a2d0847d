/**
 * The `pki` secrets engine (Vault's API): a mount is a certificate authority. CA set-up
 * (`root/generate`, `intermediate/generate`, `root/sign-intermediate`, `intermediate/set-signed`),
 * distribution (`ca`, `ca_chain`, `cert/:serial`, `certs`, `crl`, OCSP), revocation and tidy are
 * here; roles and leaf issuance are in pki-issue.paths.ts.
 *
 * Invariants: CA private keys are stored only as barrier ciphertext and returned only by
 * `…/exported` at creation; the CA-distribution endpoints answer without a token, as Vault's;
 * a revocation is in the CRL and the OCSP answers from the moment it is acknowledged.
 */
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import type { BackendDefinition } from '../../framework/backend';
import type { Fields } from '../../framework/fields';
import { logical, raw, type RequestContext, type RouteDefinition } from '../../framework/route';
import { buildCertificate, certificateParts, encodeName, fromPem, randomSerial, serialToVault, toPem, type DistinguishedName } from '../../crypto/x509/certificate';
import { buildCsr, parseCsr } from '../../crypto/x509/csr';
import { generateKeyPair, privateKeyPem, type KeyType } from '../../crypto/x509/keys';
import { buildOcspResponse, certIdMatchesIssuer, ocspErrorResponse, parseOcspRequest, type OcspStatus } from '../../crypto/x509/ocsp';
import { badRequest, notFound } from '../../kernel/errors';
import type { EngineObjectRepository } from '../engine-objects.repository';
import type { CertificateRecord, CertificateRepository } from './certificate.repository';
import { certificateRecord } from './certificate-record';
import type { CrlConfig, Issuer, IssuerStore } from './issuers';
import { isIp } from './name-policy';
import { pkiIssuePaths } from './pki-issue.paths';
import { pkiIssuerPaths } from './pki-issuers.paths';
import { SUBJECT_NAME_FIELDS } from './pki-role';
import { intermediateValidity, ISSUER_LEAF_NOT_AFTER_BEHAVIOR, mountTtlLimits, rootValidity } from './validity';

export interface PkiUrls {
  issuingCertificates: string[];
  crlDistributionPoints: string[];
  ocspServers: string[];
}

const SUBJECT_FIELDS: Fields = {
  common_name: { type: 'string', description: 'The CA subject common name.' },
  alt_names: { type: 'string-list', description: 'DNS SANs.' },
  ip_sans: { type: 'string-list', description: 'IP SANs.' },
  uri_sans: { type: 'string-list', description: 'URI SANs.' },
  ttl: { type: 'duration', description: "Lifetime (default: the mount's default TTL; capped, with a warning, at its max TTL)." },
  key_type: { type: 'string', allowed: ['rsa', 'ec', 'ed25519'], description: 'rsa (default), ec or ed25519.' },
  key_bits: { type: 'int', description: 'RSA 2048 (default)/3072/4096; EC 224/256 (default)/384/521.' },
  max_path_length: { type: 'int', default: -1, min: -1, description: 'Path length constraint (-1: none).' },
  exclude_cn_from_sans: { type: 'bool', description: 'Keep the common name out of the SANs.' },
  ...SUBJECT_NAME_FIELDS,
  issuer_name: { type: 'string', description: 'A name for the issuer (informational).' },
  csr: { type: 'string', description: 'root/sign-intermediate: the intermediate CA\'s PEM CSR.' },
  use_csr_values: { type: 'bool', description: "root/sign-intermediate: the CSR's subject and SANs instead of the request's." },
  certificate: { type: 'string', description: 'intermediate/set-signed: the signed intermediate (PEM, chain allowed).' },
};

const SIGN_INTERMEDIATE_FIELDS: Fields = {
  ...SUBJECT_FIELDS,
  enforce_leaf_not_after_behavior: { type: 'bool', description: "Apply the issuer's leaf_not_after_behavior instead of cutting the intermediate's validity to the issuer's." },
};

const KEY_BITS_DEFAULT: Record<KeyType, number> = { rsa: 2048, ec: 256, ed25519: 0 };

function subjectFrom(d: Record<string, unknown>): DistinguishedName {
  return {
    commonName: d.common_name as string | undefined,
    organization: (d.organization as string[] | undefined) ?? [],
    organizationalUnit: (d.ou as string[] | undefined) ?? [],
    country: (d.country as string[] | undefined) ?? [],
    locality: (d.locality as string[] | undefined) ?? [],
    province: (d.province as string[] | undefined) ?? [],
    streetAddress: (d.street_address as string[] | undefined) ?? [],
    postalCode: (d.postal_code as string[] | undefined) ?? [],
  };
}

/** SANs of a CA: the common name (unless excluded) and the requested names, checked for form only. */
function caSans(d: Record<string, unknown>): { dnsNames: string[]; ipAddresses: string[]; uris: string[]; emails: string[] } {
  const names = ((d.alt_names as string[] | undefined) ?? []).map((n) => n.trim()).filter((n) => n);
  const cn = d.common_name as string | undefined;
  if (cn && !d.exclude_cn_from_sans) names.unshift(cn);
  const ips = ((d.ip_sans as string[] | undefined) ?? []).map((n) => n.trim()).filter((n) => n);
  for (const ip of ips) if (!isIp(ip)) throw badRequest(`${JSON.stringify(ip)} is not a valid IP address`);
  return { dnsNames: names.filter((n) => !n.includes('@')), emails: names.filter((n) => n.includes('@')), ipAddresses: ips, uris: (d.uri_sans as string[] | undefined) ?? [] };
}

function keyRequest(d: Record<string, unknown>): { type: KeyType; bits: number } {
  const type = (d.key_type as KeyType | undefined) ?? 'rsa';
  return { type, bits: (d.key_bits as number | undefined) || KEY_BITS_DEFAULT[type] };
}

function exportedType(ctx: RequestContext): boolean {
  const t = ctx.params.type;
  if (t !== 'internal' && t !== 'exported') throw badRequest('invalid type: use internal or exported');
  return t === 'exported';
}

/** The id a key made by intermediate/generate waits under until set-signed brings its certificate. */
const pendingKeyId = (publicKey: KeyObject) => createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 32);

const CRL_REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold'];

export interface PkiDeps {
  objects: EngineObjectRepository;
  certificates: CertificateRepository;
  /** Opened issuers (cleared at seal by the caller). */
  issuers: IssuerStore;
}

export function pkiBackend({ objects, certificates, issuers }: PkiDeps): BackendDefinition {
  const urls = async (mountUuid: string): Promise<PkiUrls> => (await objects.get<PkiUrls>(mountUuid, 'pki-config', 'urls')) ?? { issuingCertificates: [], crlDistributionPoints: [], ocspServers: [] };
  const crlConfig = async (mountUuid: string): Promise<CrlConfig> => (await objects.get<CrlConfig>(mountUuid, 'pki-config', 'crl')) ?? { expirySeconds: 72 * 3600, disable: false };
  const defaultIssuer = (ctx: RequestContext): Promise<Issuer> => issuers.requireDefault(ctx.mount.uuid);
  const currentCrl = async (ctx: RequestContext, rebuild = false) => issuers.crl(ctx.mount.uuid, await defaultIssuer(ctx), await crlConfig(ctx.mount.uuid), rebuild);
  const chainPem = (issuer: Issuer) => [issuer.certPem, ...issuer.chainPem].join('');
  /** Marks a stored certificate revoked (idempotent) and rebuilds its issuer's CRL before returning. */
  const revokeStored = async (mountUuid: string, record: CertificateRecord): Promise<CertificateRecord> => {
    const revoked = (await certificates.revoke(mountUuid, record.serialNumber, CRL_REASONS[0], new Date())) ?? record;
    if (record.issuerSerial) {
      const issuer = await issuers.bySerial(mountUuid, record.issuerSerial);
      if (issuer) await issuers.crl(mountUuid, issuer, await crlConfig(mountUuid), true);
    }
    return revoked;
  };

  const ocsp = async (ctx: RequestContext, request: Buffer) => {
    const answer = (der: Buffer) => raw(200, der, 'application/ocsp-response');
    let parsed;
    try {
      parsed = parseOcspRequest(request);
    } catch {
      return answer(ocspErrorResponse('malformedRequest'));
    }
    const issuer = await issuers.default(ctx.mount.uuid);
    if (!issuer) return answer(ocspErrorResponse('unauthorized'));
    const now = new Date();
    const responses = [];
    for (const certId of parsed.certIds) {
      let status: OcspStatus = { status: 'unknown' };
      if (certIdMatchesIssuer(certId, issuer.certDer)) {
        const record = await certificates.get(ctx.mount.uuid, serialToVault(certId.serial));
        if (record && record.issuerSerial === issuer.serial) status = record.revoked ? { status: 'revoked', revokedAt: record.revokedAt as Date } : { status: 'good' };
      }
      responses.push({ certId, status, thisUpdate: now, nextUpdate: new Date(now.getTime() + 3600_000) });
    }
    return answer(buildOcspResponse({ responderCertDer: issuer.certDer, responderKey: issuer.key, producedAt: now, responses, nonce: parsed.nonce }));
  };

  const routes: RouteDefinition[] = [
    {
      path: 'root/generate/:type',
      auth: 'token',
      allowedWhileSealed: false,
      fields: SUBJECT_FIELDS,
      help: 'A new self-signed root CA (internal: the key never leaves; exported: returned once).',
      handlers: {
        update: async (ctx) => {
          const exported = exportedType(ctx);
          if (!ctx.data.common_name) throw badRequest('the common_name field is required');
          const { type, bits } = keyRequest(ctx.data);
          const key = await generateKeyPair(type, bits).catch((err: Error) => {
            throw badRequest(err.message);
          });
          const subject = subjectFrom(ctx.data);
          const now = new Date();
          const { notAfter, warnings } = rootValidity((ctx.data.ttl as number | undefined) ?? 0, mountTtlLimits(ctx.mount), now);
          const der = buildCertificate({
            serial: randomSerial(),
            subject,
            issuer: { nameDer: encodeName(subject), privateKey: key.privateKey },
            publicKey: key.publicKey,
            notBefore: new Date(now.getTime() - 30_000),
            notAfter,
            isCa: true,
            maxPathLength: ctx.data.max_path_length as number,
            keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
            extKeyUsage: [],
            ...caSans(ctx.data),
          });
          const issuer = await issuers.add(ctx.mount.uuid, der, key.privateKey, [], 'root_ca', null);
          return logical({
            certificate: issuer.certPem,
            issuing_ca: issuer.certPem,
            serial_number: issuer.serial,
            expiration: Math.floor(notAfter.getTime() / 1000),
            issuer_id: issuer.serial,
            issuer_name: (ctx.data.issuer_name as string | undefined) ?? '',
            key_id: issuer.serial,
            ...(exported ? { private_key: privateKeyPem(key.privateKey), private_key_type: key.type } : {}),
          }, warnings.length ? warnings : undefined);
        },
      },
    },
    {
      path: 'intermediate/generate/:type',
      auth: 'token',
      allowedWhileSealed: false,
      fields: SUBJECT_FIELDS,
      help: "A key pair and a CSR for this mount's intermediate CA; the key waits for intermediate/set-signed.",
      handlers: {
        update: async (ctx) => {
          const exported = exportedType(ctx);
          if (!ctx.data.common_name) throw badRequest('the common_name field is required');
          const { type, bits } = keyRequest(ctx.data);
          const key = await generateKeyPair(type, bits).catch((err: Error) => {
            throw badRequest(err.message);
          });
          const csr = buildCsr(subjectFrom(ctx.data), key, caSans(ctx.data), true);
          const keyId = pendingKeyId(key.publicKey);
          await objects.put(ctx.mount.uuid, 'pki-pending-key', keyId, { pkcs8: key.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64') });
          return logical({ csr: toPem(csr, 'CERTIFICATE REQUEST'), key_id: keyId, ...(exported ? { private_key: privateKeyPem(key.privateKey), private_key_type: key.type } : {}) });
        },
      },
    },
    {
      path: 'root/sign-intermediate',
      auth: 'token',
      allowedWhileSealed: false,
      fields: SIGN_INTERMEDIATE_FIELDS,
      help: "Signs an intermediate CA's CSR with this mount's default issuer (cut to the issuer's validity unless enforce_leaf_not_after_behavior).",
      handlers: {
        update: async (ctx) => {
          const issuer = await defaultIssuer(ctx);
          if (!ctx.data.csr) throw badRequest('"csr" is empty');
          let csr;
          try {
            csr = parseCsr(ctx.data.csr as string);
          } catch (err) {
            throw badRequest(`certificate request could not be parsed: ${(err as Error).message}`);
          }
          const useCsr = ctx.data.use_csr_values === true;
          const subject = useCsr ? csr.subject : { ...subjectFrom(ctx.data), commonName: (ctx.data.common_name as string | undefined) ?? csr.subject.commonName };
          if (!subject.commonName) throw badRequest('the common_name field is required');
          const now = new Date();
          const { notAfter, warnings } = intermediateValidity((ctx.data.ttl as number | undefined) ?? 0, ctx.data.enforce_leaf_not_after_behavior === true, { notAfter: issuer.notAfter, behavior: ISSUER_LEAF_NOT_AFTER_BEHAVIOR }, mountTtlLimits(ctx.mount), now);
          const der = buildCertificate({
            serial: randomSerial(),
            subject,
            issuer: { nameDer: issuer.nameDer, privateKey: issuer.key, subjectKeyId: issuer.subjectKeyId },
            publicKey: csr.publicKey,
            notBefore: new Date(now.getTime() - 30_000),
            notAfter,
            isCa: true,
            maxPathLength: ctx.data.max_path_length as number,
            keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
            extKeyUsage: [],
            ...(useCsr ? { dnsNames: csr.dnsNames, ipAddresses: csr.ipAddresses, uris: csr.uris, emails: csr.emails } : caSans({ ...ctx.data, common_name: subject.commonName })),
            ...(await urlsFor(ctx.mount.uuid)),
          });
          const record = certificateRecord(der, 'intermediate_ca', issuer.serial, ['CertSign', 'CRLSign']);
          const [serial, pem] = [record.serialNumber, record.certificatePem];
          await certificates.insert(ctx.mount.uuid, record);
          return logical({ certificate: pem, issuing_ca: issuer.certPem, ca_chain: [pem, issuer.certPem, ...issuer.chainPem], serial_number: serial, expiration: Math.floor(notAfter.getTime() / 1000) }, warnings.length ? warnings : undefined);
        },
      },
    },
    {
      path: 'intermediate/set-signed',
      auth: 'token',
      allowedWhileSealed: false,
      fields: SUBJECT_FIELDS,
      help: 'Installs the signed intermediate certificate for a key made by intermediate/generate.',
      handlers: {
        update: async (ctx) => {
          const pems = fromPem((ctx.data.certificate as string | undefined) ?? '', 'CERTIFICATE');
          if (pems.length === 0) throw badRequest('no certificate found in "certificate"');
          const [leaf, ...chain] = pems;
          let parts;
          try {
            parts = certificateParts(leaf);
          } catch (err) {
            throw badRequest(`the certificate could not be parsed: ${(err as Error).message}`);
          }
          if (!parts.isCa) throw badRequest('the certificate is not a CA certificate');
          const keyId = pendingKeyId(parts.publicKey);
          const pending = await objects.get<{ pkcs8: string }>(ctx.mount.uuid, 'pki-pending-key', keyId);
          if (!pending) throw badRequest('no key generated by intermediate/generate matches this certificate');
          const key = createPrivateKey({ key: Buffer.from(pending.pkcs8, 'base64'), format: 'der', type: 'pkcs8' });
          const issuer = await issuers.add(ctx.mount.uuid, leaf, key, chain.map((c) => toPem(c, 'CERTIFICATE')), 'intermediate_ca', null);
          await objects.delete(ctx.mount.uuid, 'pki-pending-key', keyId);
          return logical({ imported_issuers: [issuer.serial], imported_keys: [keyId], mapping: { [issuer.serial]: keyId }, existing_issuers: [], existing_keys: [] });
        },
      },
    },
    {
      path: 'config/urls',
      auth: 'token',
      allowedWhileSealed: false,
      fields: {
        issuing_certificates: { type: 'string-list', description: 'URLs of the issuing CA certificate (AIA).' },
        crl_distribution_points: { type: 'string-list', description: 'CRL URLs.' },
        ocsp_servers: { type: 'string-list', description: 'OCSP responder URLs.' },
      },
      help: 'The URLs put into issued certificates.',
      handlers: {
        update: async (ctx) => {
          const previous = await urls(ctx.mount.uuid);
          await objects.put(ctx.mount.uuid, 'pki-config', 'urls', {
            issuingCertificates: (ctx.data.issuing_certificates as string[] | undefined) ?? previous.issuingCertificates,
            crlDistributionPoints: (ctx.data.crl_distribution_points as string[] | undefined) ?? previous.crlDistributionPoints,
            ocspServers: (ctx.data.ocsp_servers as string[] | undefined) ?? previous.ocspServers,
          } satisfies PkiUrls);
          return null;
        },
        read: async (ctx) => {
          const u = await urls(ctx.mount.uuid);
          return logical({ issuing_certificates: u.issuingCertificates, crl_distribution_points: u.crlDistributionPoints, ocsp_servers: u.ocspServers, enable_templating: false });
        },
      },
    },
    {
      path: 'config/crl',
      auth: 'token',
      allowedWhileSealed: false,
      fields: { expiry: { type: 'duration', description: 'CRL lifetime (default 72h).' }, disable: { type: 'bool', description: 'Not supported: must be false.' } },
      help: 'How long CRLs are valid.',
      handlers: {
        update: async (ctx) => {
          if (ctx.data.disable === true) throw badRequest('disabling the CRL is not supported');
          const previous = await crlConfig(ctx.mount.uuid);
          await objects.put(ctx.mount.uuid, 'pki-config', 'crl', { expirySeconds: (ctx.data.expiry as number | undefined) ?? previous.expirySeconds, disable: false } satisfies CrlConfig);
          return null;
        },
        read: async (ctx) => {
          const c = await crlConfig(ctx.mount.uuid);
          return logical({ expiry: `${c.expirySeconds / 3600}h`, disable: false });
        },
      },
    },
    { path: 'ca', auth: 'none', allowedWhileSealed: false, help: 'The default issuer, DER.', handlers: { read: async (ctx) => raw(200, (await defaultIssuer(ctx)).certDer, 'application/pkix-cert') } },
    { path: 'ca/pem', auth: 'none', allowedWhileSealed: false, help: 'The default issuer, PEM.', handlers: { read: async (ctx) => raw(200, (await defaultIssuer(ctx)).certPem, 'application/pem-certificate-chain') } },
    { path: 'ca_chain', auth: 'none', allowedWhileSealed: false, help: 'The default issuer and the CAs above it, PEM.', handlers: { read: async (ctx) => raw(200, chainPem(await defaultIssuer(ctx)), 'application/pem-certificate-chain') } },
    { path: 'cert/ca', auth: 'none', allowedWhileSealed: false, help: 'The default issuer (JSON).', handlers: { read: async (ctx) => logical({ certificate: (await defaultIssuer(ctx)).certPem, revocation_time: 0 }) } },
    {
      path: 'cert/ca_chain',
      auth: 'none',
      allowedWhileSealed: false,
      help: 'The default issuer and its chain (JSON).',
      handlers: {
        read: async (ctx) => {
          const issuer = await defaultIssuer(ctx);
          return logical({ certificate: issuer.certPem, ca_chain: chainPem(issuer), revocation_time: 0 });
        },
      },
    },
    { path: 'cert/crl', auth: 'none', allowedWhileSealed: false, help: 'The current CRL (JSON, PEM).', handlers: { read: async (ctx) => logical({ certificate: toPem(await currentCrl(ctx), 'X509 CRL'), revocation_time: 0 }) } },
    {
      path: 'cert/:serial',
      auth: 'none',
      allowedWhileSealed: false,
      help: 'A certificate this mount issued or holds, by serial number (colon or hyphen hex).',
      handlers: {
        read: async (ctx) => {
          const record = await certificates.get(ctx.mount.uuid, ctx.params.serial.toLowerCase().replace(/-/g, ':'));
          if (!record) throw notFound();
          return logical({ certificate: record.certificatePem, revocation_time: record.revokedAt ? Math.floor(record.revokedAt.getTime() / 1000) : 0, revocation_time_rfc3339: record.revokedAt ? record.revokedAt.toISOString() : '', issuer_id: record.issuerSerial ?? '' });
        },
      },
    },
    { path: 'certs', auth: 'token', allowedWhileSealed: false, help: 'The serial numbers of the stored certificates.', handlers: { list: async (ctx) => logical({ keys: await certificates.serials(ctx.mount.uuid) }) } },
    { path: 'crl', auth: 'none', allowedWhileSealed: false, help: 'The current CRL, DER.', handlers: { read: async (ctx) => raw(200, await currentCrl(ctx), 'application/pkix-crl') } },
    { path: 'crl/pem', auth: 'none', allowedWhileSealed: false, help: 'The current CRL, PEM.', handlers: { read: async (ctx) => raw(200, toPem(await currentCrl(ctx), 'X509 CRL'), 'application/x-pem-file') } },
    {
      path: 'crl/rotate',
      auth: 'token',
      allowedWhileSealed: false,
      help: 'Rebuilds the CRL now.',
      handlers: {
        read: async (ctx) => {
          await currentCrl(ctx, true);
          return logical({ success: true });
        },
      },
    },
    {
      path: 'revoke',
      auth: 'token',
      allowedWhileSealed: false,
      fields: { serial_number: { type: 'string', description: 'Colon or hyphen hex.' }, certificate: { type: 'string', description: 'Or the PEM certificate.' } },
      help: 'Revokes a certificate this mount issued; the CRL is rebuilt and OCSP answers revoked at once.',
      handlers: {
        update: async (ctx) => {
          let serial = ((ctx.data.serial_number as string | undefined) ?? '').toLowerCase().replace(/-/g, ':');
          if (!serial && ctx.data.certificate) {
            const [der] = fromPem(ctx.data.certificate as string, 'CERTIFICATE');
            if (!der) throw badRequest('the certificate could not be parsed');
            serial = serialToVault(certificateParts(der).serial);
          }
          if (!serial) throw badRequest('one of serial_number or certificate is required');
          const record = await certificates.get(ctx.mount.uuid, serial);
          if (!record) throw badRequest(`certificate with serial ${serial} not found`);
          if (record.certType === 'root_ca' || record.certType === 'intermediate_ca') {
            const issuer = await issuers.default(ctx.mount.uuid);
            if (issuer?.serial === serial) throw badRequest('the default issuer cannot be revoked this way');
          }
          const revoked = await revokeStored(ctx.mount.uuid, record);
          const at = revoked.revokedAt as Date;
          return logical({ revocation_time: Math.floor(at.getTime() / 1000), revocation_time_rfc3339: at.toISOString(), state: 'revoked' });
        },
      },
    },
    { path: 'ocsp', auth: 'none', allowedWhileSealed: false, rawRequestBody: true, help: 'OCSP responder (RFC 6960), POST with application/ocsp-request.', handlers: { update: async (ctx) => ocsp(ctx, ctx.rawBody ?? Buffer.alloc(0)) } },
    {
      path: 'ocsp/*request',
      auth: 'none',
      allowedWhileSealed: false,
      help: 'OCSP responder (RFC 6960), GET with the base64 request in the path.',
      handlers: {
        read: async (ctx) => {
          const b64 = decodeURIComponent(ctx.params.request);
          return ocsp(ctx, Buffer.from(b64, 'base64'));
        },
      },
    },
    {
      path: 'tidy',
      auth: 'token',
      allowedWhileSealed: false,
      fields: {
        tidy_cert_store: { type: 'bool', description: 'Remove expired certificates.' },
        tidy_revoked_certs: { type: 'bool', description: 'Remove expired revoked certificates.' },
        safety_buffer: { type: 'duration', description: 'Only those expired longer ago than this (default 72h).' },
      },
      help: 'Removes expired certificates from storage.',
      handlers: {
        update: async (ctx) => {
          const before = new Date(Date.now() - ((ctx.data.safety_buffer as number | undefined) ?? 72 * 3600) * 1000);
          let removed = 0;
          if (ctx.data.tidy_cert_store) removed += await certificates.tidy(ctx.mount.uuid, before, 'unrevoked');
          if (ctx.data.tidy_revoked_certs) removed += await certificates.tidy(ctx.mount.uuid, before, 'revoked');
          return raw(202, { request_id: ctx.requestId, data: null, warnings: [`Tidy operation successfully started. Removed ${removed} certificate(s).`] });
        },
      },
    },
    ...pkiIssuePaths({ objects, certificates, issuers, urls }),
    ...pkiIssuerPaths({ issuers, urls }),
  ];

  async function urlsFor(mountUuid: string) {
    const u = await urls(mountUuid);
    return { issuingCertificateUrls: u.issuingCertificates, crlDistributionPoints: u.crlDistributionPoints, ocspServers: u.ocspServers };
  }

  return {
    type: 'pki',
    class: 'secret',
    routes: () => routes,
    leases: {
      // A certificate issued under a lease (role generate_lease): revoked with it, unless it has expired by then (Vault keeps those off the CRL).
      async revoke({ mount, internal }) {
        const record = await certificates.get(mount.uuid, String(internal.serial));
        if (!record || record.revoked || record.validUntil.getTime() <= Date.now()) return;
        await revokeStored(mount.uuid, record);
      },
    },
  };
}

