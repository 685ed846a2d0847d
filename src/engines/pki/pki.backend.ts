/**
 * The `pki` secrets engine (Vault's API): a mount is a certificate authority with one or more
 * issuers. Distribution (`ca`, `ca_chain`, `cert/:serial`, `certs`, `crl`, OCSP), revocation and
 * tidy are here; CA set-up is in pki-ca.paths.ts, issuers in pki-issuers.paths.ts, keys in
 * pki-keys.paths.ts, roles and leaf issuance in pki-issue.paths.ts.
 *
 * Invariants: CA private keys are stored only as barrier ciphertext and returned only by
 * `…/exported` at creation; the CA-distribution endpoints answer without a token, as Vault's;
 * a revocation is in its issuer's CRL and the OCSP answers from the moment it is acknowledged.
 */
import type { BackendDefinition } from '../../framework/backend';
import { logical, raw, route, type RequestContext, type RouteDefinition } from '../../framework/route';
import { certificateParts, fromPem, serialToVault, toPem } from '../../crypto/x509/certificate';
import { buildOcspResponse, certIdMatchesIssuer, ocspErrorResponse, parseOcspRequest, type OcspStatus } from '../../crypto/x509/ocsp';
import { ApiError, badRequest, notFound } from '../../kernel/errors';
import type { EngineObjectRepository } from '../../shared/engine-objects.repository';
import type { CertificateRecord, CertificateRepository } from './certificate.repository';
import type { CrlConfig, Issuer, IssuerStore } from './issuers';
import { pkiCaPaths } from './pki-ca.paths';
import { pkiIssuePaths } from './pki-issue.paths';
import { pkiIssuerPaths } from './pki-issuers.paths';
import { pkiKeyPaths } from './pki-keys.paths';

export interface PkiUrls {
  issuingCertificates: string[];
  crlDistributionPoints: string[];
  ocspServers: string[];
}

const CRL_REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold'];

export interface PkiDeps {
  objects: EngineObjectRepository;
  certificates: CertificateRepository;
  /** Opened issuers (cleared at seal by the caller). */
  issuers: IssuerStore;
}

export function pkiBackend({ objects, certificates, issuers }: PkiDeps): BackendDefinition {
  const urls = async (mountUuid: string): Promise<PkiUrls> =>
    (await objects.get<PkiUrls>(mountUuid, 'pki-config', 'urls')) ?? { issuingCertificates: [], crlDistributionPoints: [], ocspServers: [] };
  const crlConfig = async (mountUuid: string): Promise<CrlConfig> =>
    (await objects.get<CrlConfig>(mountUuid, 'pki-config', 'crl')) ?? { expirySeconds: 72 * 3600, disable: false };
  /** The default issuer's certificate (served even when the mount holds no key for it). */
  const defaultIssuer = (ctx: RequestContext): Promise<Issuer> => issuers.require(ctx.mount.uuid, 'default');
  const currentCrl = async (ctx: RequestContext, rebuild = false) =>
    issuers.crl(ctx.mount.uuid, await issuers.signer(ctx.mount.uuid, 'default', 'crl-signing'), await crlConfig(ctx.mount.uuid), rebuild);
  const chainPem = (issuer: Issuer) => [issuer.certPem, ...issuer.chainPem].join('');
  /** Marks a stored certificate revoked (idempotent) and rebuilds its issuer's CRL before returning. */
  const revokeStored = async (mountUuid: string, record: CertificateRecord): Promise<CertificateRecord> => {
    const revoked = (await certificates.revoke(mountUuid, record.serialNumber, CRL_REASONS[0], new Date())) ?? record;
    // issuer_serial holds the id of the issuer that signed it (the serial, for issuers of the first increment).
    if (record.issuerSerial) await issuers.revoked(mountUuid, record.issuerSerial, await crlConfig(mountUuid));
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
    // The issuer named by the first CertID signs the answer; CertIDs of other issuers are unknown to it.
    const matching = (await issuers.all(ctx.mount.uuid)).filter(
      (i) => i.signer && i.usage.includes('ocsp-signing') && parsed.certIds.length > 0 && certIdMatchesIssuer(parsed.certIds[0], i.certDer),
    );
    // Several when one CA has several certificates (a root and its cross-signed copy): the default, else a root, responds.
    const def = (await issuers.config(ctx.mount.uuid)).default;
    const rank = (i: Issuer) => (i.id === def ? 0 : i.chainPem.length === 0 ? 1 : 2);
    const issuer = matching.sort((a, b) => rank(a) - rank(b))[0];
    if (!issuer?.signer) return answer(ocspErrorResponse('unauthorized'));
    // A certificate of the same CA under another issuer (a root and its cross-signed copy) has the same CertID issuer hashes.
    const sameCa = new Set((await issuers.sameCa(ctx.mount.uuid, issuer)).map((i) => i.id));
    const now = new Date();
    const responses = [];
    for (const certId of parsed.certIds) {
      let status: OcspStatus = { status: 'unknown' };
      if (certIdMatchesIssuer(certId, issuer.certDer)) {
        const record = await certificates.get(ctx.mount.uuid, serialToVault(certId.serial));
        if (record?.issuerSerial && sameCa.has(record.issuerSerial))
          status = record.revoked ? { status: 'revoked', revokedAt: record.revokedAt as Date } : { status: 'good' };
      }
      responses.push({ certId, status, thisUpdate: now, nextUpdate: new Date(now.getTime() + 3600_000) });
    }
    let signed: Buffer;
    try {
      signed = await buildOcspResponse({
        responderCertDer: issuer.certDer,
        responderSigner: issuer.signer,
        producedAt: now,
        responses,
        nonce: parsed.nonce,
      });
    } catch (err) {
      // The issuer's key is on an HSM that is unavailable: Vault's 500 with an internalError answer.
      if (err instanceof ApiError && err.status >= 500) return raw(500, ocspErrorResponse('internalError'), 'application/ocsp-response');
      throw err;
    }
    return answer(signed);
  };

  const routes: RouteDefinition[] = [
    route({
      path: 'config/urls',
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
            issuingCertificates: ctx.data.issuing_certificates ?? previous.issuingCertificates,
            crlDistributionPoints: ctx.data.crl_distribution_points ?? previous.crlDistributionPoints,
            ocspServers: ctx.data.ocsp_servers ?? previous.ocspServers,
          } satisfies PkiUrls);
          return null;
        },
        read: async (ctx) => {
          const u = await urls(ctx.mount.uuid);
          return logical({
            issuing_certificates: u.issuingCertificates,
            crl_distribution_points: u.crlDistributionPoints,
            ocsp_servers: u.ocspServers,
            enable_templating: false,
          });
        },
      },
    }),
    route({
      path: 'config/crl',
      fields: {
        expiry: { type: 'duration', description: 'CRL lifetime (default 72h).' },
        disable: { type: 'bool', description: 'Not supported: must be false.' },
      },
      help: 'How long CRLs are valid.',
      handlers: {
        update: async (ctx) => {
          if (ctx.data.disable === true) throw badRequest('disabling the CRL is not supported');
          const previous = await crlConfig(ctx.mount.uuid);
          await objects.put(ctx.mount.uuid, 'pki-config', 'crl', {
            expirySeconds: ctx.data.expiry ?? previous.expirySeconds,
            disable: false,
          } satisfies CrlConfig);
          return null;
        },
        read: async (ctx) => {
          const c = await crlConfig(ctx.mount.uuid);
          return logical({ expiry: `${c.expirySeconds / 3600}h`, disable: false });
        },
      },
    }),
    {
      path: 'ca',
      auth: 'none',
      help: 'The default issuer, DER.',
      handlers: { read: async (ctx) => raw(200, (await defaultIssuer(ctx)).certDer, 'application/pkix-cert') },
    },
    {
      path: 'ca/pem',
      auth: 'none',
      help: 'The default issuer, PEM.',
      handlers: { read: async (ctx) => raw(200, (await defaultIssuer(ctx)).certPem, 'application/pem-certificate-chain') },
    },
    {
      path: 'ca_chain',
      auth: 'none',
      help: 'The default issuer and the CAs above it, PEM.',
      handlers: { read: async (ctx) => raw(200, chainPem(await defaultIssuer(ctx)), 'application/pem-certificate-chain') },
    },
    {
      path: 'cert/ca',
      auth: 'none',
      help: 'The default issuer (JSON).',
      handlers: { read: async (ctx) => logical({ certificate: (await defaultIssuer(ctx)).certPem, revocation_time: 0 }) },
    },
    {
      path: 'cert/ca_chain',
      auth: 'none',
      help: 'The default issuer and its chain (JSON).',
      handlers: {
        read: async (ctx) => {
          const issuer = await defaultIssuer(ctx);
          return logical({ certificate: issuer.certPem, ca_chain: chainPem(issuer), revocation_time: 0 });
        },
      },
    },
    {
      path: 'cert/crl',
      auth: 'none',
      help: 'The current CRL (JSON, PEM).',
      handlers: { read: async (ctx) => logical({ certificate: toPem(await currentCrl(ctx), 'X509 CRL'), revocation_time: 0 }) },
    },
    {
      path: 'cert/:serial',
      auth: 'none',
      help: 'A certificate this mount issued or holds, by serial number (colon or hyphen hex).',
      handlers: {
        read: async (ctx) => {
          const record = await certificates.get(ctx.mount.uuid, ctx.params.serial.toLowerCase().replace(/-/g, ':'));
          if (!record) throw notFound();
          return logical({
            certificate: record.certificatePem,
            revocation_time: record.revokedAt ? Math.floor(record.revokedAt.getTime() / 1000) : 0,
            revocation_time_rfc3339: record.revokedAt ? record.revokedAt.toISOString() : '',
            issuer_id: record.issuerSerial ?? '',
          });
        },
      },
    },
    {
      path: 'certs',
      help: 'The serial numbers of the stored certificates.',
      handlers: { list: async (ctx) => logical({ keys: await certificates.serials(ctx.mount.uuid) }) },
    },
    { path: 'crl', auth: 'none', help: 'The current CRL, DER.', handlers: { read: async (ctx) => raw(200, await currentCrl(ctx), 'application/pkix-crl') } },
    {
      path: 'crl/pem',
      auth: 'none',
      help: 'The current CRL, PEM.',
      handlers: { read: async (ctx) => raw(200, toPem(await currentCrl(ctx), 'X509 CRL'), 'application/x-pem-file') },
    },
    {
      path: 'crl/rotate',
      help: 'Rebuilds the CRL now.',
      handlers: {
        read: async (ctx) => {
          const config = await crlConfig(ctx.mount.uuid);
          for (const issuer of await issuers.all(ctx.mount.uuid))
            if (issuer.signer && issuer.usage.includes('crl-signing')) await issuers.crl(ctx.mount.uuid, issuer, config, true);
          return logical({ success: true });
        },
      },
    },
    route({
      path: 'revoke',
      fields: {
        serial_number: { type: 'string', description: 'Colon or hyphen hex.' },
        certificate: { type: 'string', description: 'Or the PEM certificate.' },
      },
      help: 'Revokes a certificate this mount issued; the CRL is rebuilt and OCSP answers revoked at once.',
      handlers: {
        update: async (ctx) => {
          let serial = (ctx.data.serial_number ?? '').toLowerCase().replace(/-/g, ':');
          if (!serial && ctx.data.certificate) {
            const [der] = fromPem(ctx.data.certificate, 'CERTIFICATE');
            if (!der) throw badRequest('the certificate could not be parsed');
            serial = serialToVault(certificateParts(der).serial);
          }
          if (!serial) throw badRequest('one of serial_number or certificate is required');
          // Vault's check, before the lookup: no issuer of the mount is revoked this way.
          const issuer = (await issuers.all(ctx.mount.uuid)).find((i) => i.serial === serial);
          if (issuer) throw badRequest(`adding issuer (id: ${issuer.id}) to its own CRL is not allowed`);
          const record = await certificates.get(ctx.mount.uuid, serial);
          if (!record) throw badRequest(`certificate with serial ${serial} not found`);
          const revoked = await revokeStored(ctx.mount.uuid, record);
          const at = revoked.revokedAt as Date;
          return logical({ revocation_time: Math.floor(at.getTime() / 1000), revocation_time_rfc3339: at.toISOString(), state: 'revoked' });
        },
      },
    }),
    {
      path: 'ocsp',
      auth: 'none',
      rawRequestBody: true,
      help: 'OCSP responder (RFC 6960), POST with application/ocsp-request.',
      handlers: { update: async (ctx) => ocsp(ctx, ctx.rawBody ?? Buffer.alloc(0)) },
    },
    {
      path: 'ocsp/*request',
      auth: 'none',
      help: 'OCSP responder (RFC 6960), GET with the base64 request in the path.',
      handlers: {
        read: async (ctx) => {
          const b64 = decodeURIComponent(ctx.params.request);
          return ocsp(ctx, Buffer.from(b64, 'base64'));
        },
      },
    },
    route({
      path: 'tidy',
      fields: {
        tidy_cert_store: { type: 'bool', description: 'Remove expired certificates.' },
        tidy_revoked_certs: { type: 'bool', description: 'Remove expired revoked certificates.' },
        safety_buffer: { type: 'duration', description: 'Only those expired longer ago than this (default 72h).' },
      },
      help: 'Removes expired certificates from storage.',
      handlers: {
        update: async (ctx) => {
          const before = new Date(Date.now() - (ctx.data.safety_buffer ?? 72 * 3600) * 1000);
          let removed = 0;
          if (ctx.data.tidy_cert_store) removed += await certificates.tidy(ctx.mount.uuid, before, 'unrevoked');
          if (ctx.data.tidy_revoked_certs) removed += await certificates.tidy(ctx.mount.uuid, before, 'revoked');
          return raw(202, { request_id: ctx.requestId, data: null, warnings: [`Tidy operation successfully started. Removed ${removed} certificate(s).`] });
        },
      },
    }),
    ...pkiCaPaths({ objects, certificates, issuers, urls }),
    ...pkiIssuePaths({ objects, certificates, issuers, urls }),
    ...pkiIssuerPaths({ issuers, urls, crlConfig }),
    ...pkiKeyPaths({ issuers }),
  ];

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
