/**
 * PKI roles and leaf issuance (Vault's `roles/:name`, `issue/:role`, `sign/:role`,
 * `sign-verbatim`). Issued certificates are stored (unless the role says no_store) so they can be
 * listed, read and revoked by serial; their private keys are returned once and never kept.
 */
import type { KeyObject } from 'node:crypto';
import type { FieldData, Fields } from '../../framework/fields';
import { logical, route, type LogicalResponse, type RequestContext, type RouteContext, type RouteDefinition } from '../../framework/route';
import { buildCertificate, EKU, fromPem, randomSerial, type DistinguishedName, type KeyUsage } from '../../crypto/x509/certificate';
import { parseCsr, type ParsedCsr } from '../../crypto/x509/csr';
import { generateKeyPair, keyInfo, privateKeyPem } from '../../crypto/x509/keys';
import { badRequest, notFound } from '../../kernel/errors';
import type { EngineObjectRepository } from '../../shared/engine-objects.repository';
import type { CertificateRepository } from './certificate.repository';
import { recordFromFacts } from './certificate-record';
import type { Issuer, IssuerStore, SigningIssuer } from './issuers';
import { planLeaf, type LeafPlan } from './leaf-plan';
import { roleData, roleFrom, ROLE_FIELDS, type PkiRole } from './pki-role';
import type { PkiUrls } from './pki.backend';
import { mountTtlLimits } from './validity';

const NAME = /^\w(?:[\w.-]{0,126}\w)?$/;

const ISSUE_FIELDS = {
  common_name: { type: 'string', description: 'The subject common name.' },
  alt_names: { type: 'string-list', description: 'DNS and email SANs.' },
  ip_sans: { type: 'string-list', description: 'IP SANs.' },
  uri_sans: { type: 'string-list', description: 'URI SANs.' },
  ttl: { type: 'duration', description: "Lifetime (default the role's; capped by its max_ttl)." },
  exclude_cn_from_sans: { type: 'bool', description: 'Keep the common name out of the SANs.' },
  format: { type: 'string', allowed: ['pem', 'der', 'pem_bundle'], description: 'pem (default), der (base64) or pem_bundle.' },
  private_key_format: {
    type: 'string',
    allowed: ['', 'der', 'pem', 'pkcs8'],
    description: "der (default: the key in the certificate's `format`, base64 DER or PEM) or pkcs8 (PKCS#8, in that format).",
  },
  csr: { type: 'string', description: 'sign: the PEM certificate signing request.' },
} as const satisfies Fields;
type IssueData = FieldData<typeof ISSUE_FIELDS, false>;

const KEY_USAGE_BITS: Record<string, KeyUsage> = {
  DigitalSignature: 'digitalSignature',
  ContentCommitment: 'contentCommitment',
  KeyEncipherment: 'keyEncipherment',
  DataEncipherment: 'dataEncipherment',
  KeyAgreement: 'keyAgreement',
  CertSign: 'keyCertSign',
  CRLSign: 'cRLSign',
  EncipherOnly: 'encipherOnly',
  DecipherOnly: 'decipherOnly',
};
const EKU_OIDS: Record<string, string> = {
  ServerAuth: EKU.serverAuth,
  ClientAuth: EKU.clientAuth,
  CodeSigning: EKU.codeSigning,
  EmailProtection: EKU.emailProtection,
  TimeStamping: EKU.timeStamping,
  OCSPSigning: EKU.ocspSigning,
};

export interface PkiIssueDeps {
  objects: EngineObjectRepository;
  certificates: CertificateRepository;
  issuers: IssuerStore;
  urls(mountUuid: string): Promise<PkiUrls>;
}

function subjectOf(role: PkiRole, commonName: string | undefined): DistinguishedName {
  return {
    commonName,
    organization: role.organization,
    organizationalUnit: role.ou,
    country: role.country,
    locality: role.locality,
    province: role.province,
    streetAddress: role.streetAddress,
    postalCode: role.postalCode,
  };
}

/** PEM to base64 DER (Vault's `format=der`). */
const pemToDerBase64 = (pem: string) => fromPem(pem, 'CERTIFICATE')[0].toString('base64');

/** A signed leaf as Vault's answer names its parts (PEM). */
interface IssuedLeaf {
  certificate: string;
  issuing_ca: string;
  ca_chain: string[];
  serial_number: string;
  expiration: number;
}

/**
 * Vault's `format`: pem (as is); der (certificates as base64 DER); pem_bundle (the private key, if
 * any, the certificate and — when the issuer is not a self-signed root — the issuing CA, in one PEM).
 */
function formatted(data: IssuedLeaf, format: unknown, privateKey: string | undefined, issuerIsRoot: boolean): Record<string, unknown> {
  if (format === 'der')
    return { ...data, certificate: pemToDerBase64(data.certificate), issuing_ca: pemToDerBase64(data.issuing_ca), ca_chain: data.ca_chain.map(pemToDerBase64) };
  if (format === 'pem_bundle') {
    const parts = [...(privateKey ? [privateKey] : []), data.certificate, ...(issuerIsRoot ? [] : [data.issuing_ca])];
    return { ...data, certificate: parts.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('') };
  }
  return { ...data };
}

/** Vault's private_key: PKCS#1/SEC 1 (Ed25519: PKCS#8), or PKCS#8 with private_key_format=pkcs8; base64 DER when `format` is der. */
function privateKeyText(key: KeyObject, format: unknown, privateKeyFormat: unknown): string {
  if (format !== 'der') return privateKeyPem(key, privateKeyFormat === 'pkcs8' ? 'pkcs8' : 'pem');
  return privateKeyFormat === 'pkcs8' ? key.export({ type: 'pkcs8', format: 'der' }).toString('base64') : privateKeyPem(key, 'der');
}

export function pkiIssuePaths(deps: PkiIssueDeps): RouteDefinition[] {
  const { objects, certificates, issuers } = deps;
  const roleName = (ctx: RequestContext) => {
    const name = ctx.params.name ?? ctx.params.role;
    if (!NAME.test(name)) throw badRequest('invalid role name');
    return name;
  };
  const loadRole = async (ctx: RequestContext): Promise<PkiRole> => {
    const name = roleName(ctx);
    const role = await objects.get<PkiRole>(ctx.mount.uuid, 'pki-role', name);
    if (!role) throw badRequest(`unknown role: ${name}`);
    return role;
  };
  /**
   * The issuer a request signs with: the path's (issuer/:ref/...), else the role's, else the default.
   * Never the request body's, as in Vault: who may choose an issuer is decided by the ACL on the
   * issuer/:ref/... paths, and a body field on issue/:role would step around it.
   */
  const signingIssuer = (ctx: RequestContext, role: PkiRole | undefined): Promise<SigningIssuer> =>
    issuers.signer(ctx.mount.uuid, ctx.params.ref ?? (role?.issuerRef || 'default'));
  const within = (issuer: Issuer) => ({ notAfter: issuer.notAfter, behavior: issuer.leafNotAfterBehavior });

  /** Signs the planned leaf with the issuer, stores it (unless no_store) and answers in Vault's shape. */
  const issueLeaf = async (
    ctx: RequestContext,
    role: PkiRole | undefined,
    plan: LeafPlan,
    subject: DistinguishedName,
    publicKey: ParsedCsr['publicKey'],
    issuer: SigningIssuer,
  ): Promise<IssuedLeaf> => {
    const urls = await deps.urls(ctx.mount.uuid);
    const serial = randomSerial();
    const der = await buildCertificate({
      serial,
      subject,
      issuer: { nameDer: issuer.nameDer, signer: issuer.signer, subjectKeyId: issuer.subjectKeyId },
      publicKey,
      notBefore: plan.notBefore,
      notAfter: plan.notAfter,
      isCa: false,
      keyUsage: plan.keyUsage.map((u) => KEY_USAGE_BITS[u]).filter((u) => u !== undefined),
      extKeyUsage: plan.extKeyUsage.map((u) => EKU_OIDS[u]),
      dnsNames: plan.dnsNames,
      ipAddresses: plan.ipAddresses,
      uris: plan.uris,
      emails: plan.emails,
      issuingCertificateUrls: urls.issuingCertificates,
      crlDistributionPoints: urls.crlDistributionPoints,
      ocspServers: urls.ocspServers,
    });
    const certType = plan.extKeyUsage.includes('ServerAuth') || !plan.extKeyUsage.includes('ClientAuth') ? 'leaf' : 'app_client';
    const facts = { serial, commonName: subject.commonName, notBefore: plan.notBefore, notAfter: plan.notAfter };
    const record = recordFromFacts(der, facts, certType, issuer.id, plan.keyUsage, ctx.token ? { id: ctx.token.displayName, type: 'token' } : undefined);
    if (!role?.noStore) await certificates.insert(ctx.mount.uuid, record);
    return {
      certificate: record.certificatePem,
      issuing_ca: issuer.certPem,
      ca_chain: [issuer.certPem, ...issuer.chainPem],
      serial_number: record.serialNumber,
      expiration: Math.floor(plan.notAfter.getTime() / 1000),
    };
  };

  /**
   * Vault's answer in the requested `format` (with the new private key for issue); under a lease when
   * the role generates leases (TTL: the certificate's remaining lifetime, not renewable).
   */
  const answer = (
    ctx: RouteContext<typeof ISSUE_FIELDS>,
    role: PkiRole | undefined,
    issued: IssuedLeaf,
    issuer: Issuer,
    warnings: string[],
    key?: { pem: string; type: string },
  ): LogicalResponse => {
    const body = {
      ...formatted(issued, ctx.data.format, key?.pem, issuer.chainPem.length === 0),
      ...(key ? { private_key: key.pem, private_key_type: key.type } : {}),
    };
    const response = logical(body, warnings.length ? warnings : undefined);
    if (!role?.generateLease) return response;
    const ttlSeconds = Math.max(1, issued.expiration - Math.floor(Date.now() / 1000));
    return {
      ...response,
      lease: {
        ttlSeconds,
        maxTtlSeconds: ttlSeconds,
        renewable: false,
        internal: { serial: issued.serial_number },
        metadata: { serial_number: issued.serial_number },
      },
    };
  };

  const limits = (ctx: RequestContext) => mountTtlLimits(ctx.mount);
  const request = (d: IssueData) => ({
    commonName: d.common_name,
    altNames: d.alt_names ?? [],
    ipSans: d.ip_sans ?? [],
    uriSans: d.uri_sans ?? [],
    ttl: d.ttl ?? 0,
    excludeCnFromSans: d.exclude_cn_from_sans ?? false,
  });
  const csrOf = (d: IssueData): ParsedCsr => {
    if (!d.csr) throw badRequest('"csr" is empty');
    try {
      return parseCsr(d.csr);
    } catch (err) {
      throw badRequest(`certificate request could not be parsed: ${(err as Error).message}`);
    }
  };
  const checkCsrKey = (role: PkiRole, csr: ParsedCsr) => {
    if (role.keyType === 'any') return;
    const info = keyInfo(csr.publicKey);
    if (info.type !== role.keyType) throw badRequest(`role requires keys of type ${role.keyType}`);
    if (info.type === 'rsa' && info.bits < role.keyBits) throw badRequest(`RSA key too small: role requires at least ${role.keyBits} bits`);
    if (info.type === 'ec' && info.bits !== role.keyBits) throw badRequest(`role requires EC keys of ${role.keyBits} bits`);
  };

  return [
    { path: 'roles', help: 'List the roles.', handlers: { list: async (ctx) => logical({ keys: await objects.names(ctx.mount.uuid, 'pki-role') }) } },
    route({
      path: 'roles/:name',
      fields: ROLE_FIELDS,
      help: 'Create, update, read or delete a role: which names certificates may carry, for how long, with which keys.',
      handlers: {
        update: async (ctx) => {
          const name = roleName(ctx);
          const previous = await objects.get<PkiRole>(ctx.mount.uuid, 'pki-role', name);
          const role = roleFrom(ctx.data, previous);
          await objects.put(ctx.mount.uuid, 'pki-role', name, role);
          // As Vault: the reference is resolved at use (a name or `default` may change issuer), so an unknown one only warns.
          const ref = role.issuerRef ?? 'default';
          if (await issuers.resolve(ctx.mount.uuid, ref)) return null;
          return logical(null, [
            ref === 'default'
              ? 'Issuing Certificate was set to default, but no default issuing certificate (configurable at /config/issuers) is currently set'
              : `Issuing Certificate was set to ${ref} but no issuing certificate currently has that name`,
          ]);
        },
        read: async (ctx) => {
          const role = await objects.get<PkiRole>(ctx.mount.uuid, 'pki-role', roleName(ctx));
          if (!role) throw notFound();
          return logical(roleData(role));
        },
        delete: async (ctx) => {
          await objects.delete(ctx.mount.uuid, 'pki-role', roleName(ctx));
          return null;
        },
      },
    }),
    ...['issue/:role', 'issuer/:ref/issue/:role'].map((path) =>
      route({
        path,
        fields: ISSUE_FIELDS,
        help: 'A new key pair and a certificate for it under the role (the private key is returned once, never stored), signed by the issuer the path or the role names.',
        handlers: {
          update: async (ctx) => {
            const role = await loadRole(ctx);
            if (role.keyType === 'any') throw badRequest('role key type "any" not allowed for issuing certificates, only signing');
            const issuer = await signingIssuer(ctx, role);
            const plan = planLeaf(role, request(ctx.data), undefined, within(issuer), limits(ctx));
            const key = await generateKeyPair(role.keyType, role.keyBits);
            const issued = await issueLeaf(ctx, role, plan, subjectOf(role, plan.commonName), key.publicKey, issuer);
            return answer(ctx, role, issued, issuer, plan.warnings, {
              pem: privateKeyText(key.privateKey, ctx.data.format, ctx.data.private_key_format),
              type: key.type,
            });
          },
        },
      }),
    ),
    ...['sign/:role', 'issuer/:ref/sign/:role'].map((path) =>
      route({
        path,
        fields: ISSUE_FIELDS,
        help: "A certificate for the key in a CSR, under the role (every name, the CSR's too, must pass the role), signed by the issuer the path or the role names.",
        handlers: {
          update: async (ctx) => {
            const role = await loadRole(ctx);
            const csr = csrOf(ctx.data);
            checkCsrKey(role, csr);
            const issuer = await signingIssuer(ctx, role);
            const plan = planLeaf(
              role,
              request(ctx.data),
              {
                commonName: csr.subject.commonName,
                dnsNames: csr.dnsNames,
                emails: csr.emails,
                ipAddresses: csr.ipAddresses,
                uris: csr.uris,
                requestsCa: csr.requestsCa,
              },
              within(issuer),
              limits(ctx),
            );
            return answer(ctx, role, await issueLeaf(ctx, role, plan, subjectOf(role, plan.commonName), csr.publicKey, issuer), issuer, plan.warnings);
          },
        },
      }),
    ),
    ...['sign-verbatim', 'sign-verbatim/:role', 'issuer/:ref/sign-verbatim', 'issuer/:ref/sign-verbatim/:role'].map((path) =>
      route({
        path,
        fields: { ...ISSUE_FIELDS, key_usage: ROLE_FIELDS.key_usage, ext_key_usage: ROLE_FIELDS.ext_key_usage },
        help: 'Signs a CSR as it is: its subject and SANs, no name policy (grant it like root); a role, if named, gives TTLs and usages. CA:TRUE CSRs are refused.',
        handlers: {
          update: async (ctx) => {
            const role = ctx.params.role ? await loadRole(ctx) : undefined;
            const csr = csrOf(ctx.data);
            if (csr.requestsCa) throw badRequest('the CSR asks for a CA certificate (basic constraints CA:TRUE); use root/sign-intermediate for CAs');
            const issuer = await signingIssuer(ctx, role);
            const verbatim = roleFrom(
              { ...(role ? {} : { allow_any_name: true, enforce_hostnames: false }), key_usage: ctx.data.key_usage, ext_key_usage: ctx.data.ext_key_usage },
              role ? { ...role, allowAnyName: true, enforceHostnames: false, allowIpSans: true, allowedUriSans: ['*'] } : undefined,
            );
            // Verbatim: the CSR's own subject and SANs, whatever they are (the role only gives TTLs and usages).
            Object.assign(verbatim, { allowedUriSans: ['*'], requireCn: false, useCsrCommonName: true, useCsrSans: true });
            const plan = planLeaf(
              verbatim,
              { altNames: [], ipSans: [], uriSans: [], ttl: ctx.data.ttl ?? 0, excludeCnFromSans: true },
              {
                commonName: csr.subject.commonName,
                dnsNames: csr.dnsNames,
                emails: csr.emails,
                ipAddresses: csr.ipAddresses,
                uris: csr.uris,
                requestsCa: false,
              },
              within(issuer),
              limits(ctx),
            );
            return answer(ctx, role, await issueLeaf(ctx, role, plan, csr.subject, csr.publicKey, issuer), issuer, plan.warnings);
          },
        },
      }),
    ),
  ];
}
