/**
 * CA set-up paths of a pki mount (Vault's path_root.go, path_intermediate.go): `root/generate`,
 * `root/rotate` (a new root named `next` by default, not made the default), `root/replace`,
 * `DELETE root`, `intermediate/generate` and `intermediate/cross-sign` (a CSR for a new or an
 * existing key), `root/sign-intermediate` and `issuer/:ref/sign-intermediate`,
 * `intermediate/set-signed`.
 *
 * Invariants: every key made here is stored at once (barrier ciphertext, in `keys`) and returned
 * only by `…/exported` at creation; an existing key is used only through `key_ref`; type `kms`
 * (Vault Enterprise) uses a managed key on an HSM, of which `keys` holds only the id, and signs
 * through the token (pki-managed-keys.ts).
 */
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import type { FieldData, Fields } from '../../framework/fields';
import { logical, route, type RouteContext, type RouteDefinition } from '../../framework/route';
import { buildCertificate, certificateParts, encodeName, fromPem, randomSerial, toPem, type DistinguishedName } from '../../crypto/x509/certificate';
import { softwareSigner, type Signer } from '../../crypto/signer';
import { buildCsr, parseCsr } from '../../crypto/x509/csr';
import { generateKeyPair, privateKeyPem, type KeyPair, type KeyType } from '../../crypto/x509/keys';
import { badRequest } from '../../kernel/errors';
import type { EngineObjectRepository } from '../../shared/engine-objects.repository';
import type { CertificateRepository } from './certificate.repository';
import { certificateRecord } from './certificate-record';
import { issuerName, nameInUse } from './issuer-fields';
import { NameInUseError } from './issuer.repository';
import type { IssuerStore, NewKey } from './issuers';
import { managedKeyRef } from './pki-managed-keys';
import { isIp } from './name-policy';
import type { PkiUrls } from './pki.backend';
import { SUBJECT_NAME_FIELDS } from './pki-role';
import { intermediateValidity, mountTtlLimits, rootValidity } from './validity';

const SUBJECT_FIELDS = {
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
  issuer_name: { type: 'string', description: 'A name for the new issuer (root/rotate: default `next`).' },
  key_name: { type: 'string', description: 'A name for the new key.' },
  key_ref: { type: 'string', description: 'type `existing` (and intermediate/cross-sign): the key to use, an id, a name or `default`.' },
  managed_key_name: { type: 'string', description: 'type `kms`: the managed key (sys/managed-keys) to use, by name.' },
  managed_key_id: { type: 'string', description: 'type `kms`: the managed key to use, by id (wins over managed_key_name).' },
  csr: { type: 'string', description: "root/sign-intermediate: the intermediate CA's PEM CSR." },
  use_csr_values: { type: 'bool', description: "root/sign-intermediate: the CSR's subject and SANs instead of the request's." },
  certificate: { type: 'string', description: 'intermediate/set-signed: the signed intermediate (PEM, chain allowed).' },
} as const satisfies Fields;

const SIGN_INTERMEDIATE_FIELDS = {
  ...SUBJECT_FIELDS,
  enforce_leaf_not_after_behavior: {
    type: 'bool',
    description: "Apply the issuer's leaf_not_after_behavior instead of cutting the intermediate's validity to the issuer's.",
  },
} as const satisfies Fields;

/** What the CA paths' handlers read (SIGN_INTERMEDIATE_FIELDS adds one flag). */
type SubjectData = FieldData<typeof SUBJECT_FIELDS, false>;

const KEY_BITS_DEFAULT: Record<KeyType, number> = { rsa: 2048, ec: 256, ed25519: 0 };

function subjectFrom(d: SubjectData): DistinguishedName {
  return {
    commonName: d.common_name,
    organization: d.organization ?? [],
    organizationalUnit: d.ou ?? [],
    country: d.country ?? [],
    locality: d.locality ?? [],
    province: d.province ?? [],
    streetAddress: d.street_address ?? [],
    postalCode: d.postal_code ?? [],
  };
}

/** SANs of a CA: the common name (unless excluded) and the requested names, checked for form only. */
function caSans(d: SubjectData): { dnsNames: string[]; ipAddresses: string[]; uris: string[]; emails: string[] } {
  const names = (d.alt_names ?? []).map((n) => n.trim()).filter((n) => n);
  const cn = d.common_name;
  if (cn && !d.exclude_cn_from_sans) names.unshift(cn);
  const ips = (d.ip_sans ?? []).map((n) => n.trim()).filter((n) => n);
  for (const ip of ips) if (!isIp(ip)) throw badRequest(`${JSON.stringify(ip)} is not a valid IP address`);
  return { dnsNames: names.filter((n) => !n.includes('@')), emails: names.filter((n) => n.includes('@')), ipAddresses: ips, uris: d.uri_sans ?? [] };
}

/** A new key pair of the request's key_type (default rsa) and key_bits (default the type's); a bad size is a 400. */
export async function requestedKeyPair(d: { key_type?: KeyType; key_bits?: number }): Promise<KeyPair> {
  const type = d.key_type ?? 'rsa';
  return generateKeyPair(type, d.key_bits || KEY_BITS_DEFAULT[type]).catch((err: Error) => {
    throw badRequest(err.message);
  });
}

export type GenerationType = 'internal' | 'exported' | 'existing' | 'kms';

/**
 * Vault's generation types: internal, exported, existing (a stored key, by key_ref) or kms (a
 * managed key, by managed_key_name or managed_key_id, which no other type takes).
 */
export function generationType(t: string | undefined, d: { managed_key_name?: string; managed_key_id?: string }, allowExisting = true): GenerationType {
  if (!(t === 'internal' || t === 'exported' || t === 'kms' || (allowExisting && t === 'existing')))
    throw badRequest(allowExisting ? 'invalid type: use internal, exported, existing or kms' : 'invalid type: use internal, exported or kms');
  if (t !== 'kms' && (d.managed_key_name || d.managed_key_id))
    throw badRequest(`managed_key_name and managed_key_id are for type kms: a managed key is never ${t === 'exported' ? 'exported' : 'used by type ' + t}`);
  return t;
}

/** What a CA request signs with, and what to store (a new key) or to return (`exported`). */
interface CaKey {
  signer: Signer;
  keyId?: string;
  store?: NewKey;
  exported?: { private_key: string; private_key_type: string };
}

/** The id the first increment gave a key made by intermediate/generate until set-signed brought its certificate. */
const legacyPendingKeyId = (publicKey: KeyObject) =>
  createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex')
    .slice(0, 32);

export interface PkiCaDeps {
  objects: EngineObjectRepository;
  certificates: CertificateRepository;
  issuers: IssuerStore;
  urls(mountUuid: string): Promise<PkiUrls>;
}

/** Vault's "name already in use" for a unique-index clash on a name. */
export async function namesChecked<T>(what: 'issuer' | 'key', work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof NameInUseError) throw nameInUse(what);
    throw err;
  }
}

export function pkiCaPaths({ objects, certificates, issuers, urls }: PkiCaDeps): RouteDefinition[] {
  /** The key a CA request signs with: a new pair (stored), the stored one `key_ref` names (existing), or a managed key (kms). */
  const caKey = async (ctx: RouteContext<typeof SUBJECT_FIELDS>, type: GenerationType): Promise<CaKey> => {
    if (type === 'existing') {
      const ref = ctx.data.key_ref || 'default';
      const keyId = await issuers.resolveKey(ctx.mount.uuid, ref);
      const signer = keyId ? await issuers.openSigner(ctx.mount.uuid, keyId) : undefined;
      if (!keyId || !signer) throw badRequest(ref === 'default' ? 'no default key currently configured' : `unable to find PKI key for reference: ${ref}`);
      return { signer, keyId };
    }
    if (type === 'kms') {
      const { id, signer } = await issuers.managed.forGeneration(ctx.mount, managedKeyRef(ctx.data));
      return { signer, store: { managedKeyId: id, publicKey: signer.publicKey } };
    }
    const pair = await requestedKeyPair(ctx.data);
    return {
      signer: softwareSigner(pair.privateKey),
      store: pair.privateKey,
      exported: type === 'exported' ? { private_key: privateKeyPem(pair.privateKey), private_key_type: pair.type } : undefined,
    };
  };

  const generateRoot = (rotate: boolean) => async (ctx: RouteContext<typeof SUBJECT_FIELDS>) => {
    const type = generationType(ctx.params.type, ctx.data);
    if (!ctx.data.common_name) throw badRequest('the common_name field is required');
    const name = issuerName(ctx.data.issuer_name ?? (rotate ? 'next' : undefined));
    const keyName = issuerName(ctx.data.key_name, 'key');
    if (name && (await issuers.repo.issuerIdByName(ctx.mount.uuid, name))) throw nameInUse('issuer');
    if (keyName && (await issuers.repo.keyIdByName(ctx.mount.uuid, keyName))) throw nameInUse('key');
    const key = await caKey(ctx, type);
    const subject = subjectFrom(ctx.data);
    const now = new Date();
    const { notAfter, warnings } = rootValidity(ctx.data.ttl ?? 0, mountTtlLimits(ctx.mount), now);
    const der = await buildCertificate({
      serial: randomSerial(),
      subject,
      issuer: { nameDer: encodeName(subject), signer: key.signer },
      publicKey: key.signer.publicKey,
      notBefore: new Date(now.getTime() - 30_000),
      notAfter,
      isCa: true,
      maxPathLength: ctx.data.max_path_length,
      keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
      extKeyUsage: [],
      ...caSans(ctx.data),
    });
    const issuer = await namesChecked('issuer', () =>
      issuers.add(ctx.mount.uuid, der, key.store as NewKey, [], 'root_ca', { name, keyId: key.keyId, keyName }),
    );
    const keyRow = await issuers.repo.key(ctx.mount.uuid, issuer.keyId as string);
    return logical(
      {
        certificate: issuer.certPem,
        issuing_ca: issuer.certPem,
        serial_number: issuer.serial,
        expiration: Math.floor(notAfter.getTime() / 1000),
        issuer_id: issuer.id,
        issuer_name: issuer.name,
        key_id: issuer.keyId,
        key_name: keyRow?.name ?? '',
        ...key.exported,
      },
      warnings.length ? warnings : undefined,
    );
  };

  const generateIntermediate = (fixedType?: 'existing') => async (ctx: RouteContext<typeof SUBJECT_FIELDS>) => {
    const type = fixedType ?? generationType(ctx.params.type, ctx.data);
    if (!ctx.data.common_name) throw badRequest('the common_name field is required');
    const keyName = issuerName(ctx.data.key_name, 'key');
    if (keyName && (await issuers.repo.keyIdByName(ctx.mount.uuid, keyName))) throw nameInUse('key');
    const key = await caKey(ctx, type);
    const csr = await buildCsr(subjectFrom(ctx.data), key.signer, caSans(ctx.data), true);
    // Stored now, as Vault does: set-signed finds it by its public key.
    const keyId = key.keyId ?? (await namesChecked('key', () => issuers.importKey(ctx.mount.uuid, key.store as NewKey, keyName))).id;
    return logical({ csr: toPem(csr, 'CERTIFICATE REQUEST'), key_id: keyId, ...key.exported });
  };

  const signIntermediate = async (ctx: RouteContext<typeof SIGN_INTERMEDIATE_FIELDS>) => {
    const issuer = await issuers.signer(ctx.mount.uuid, ctx.params.ref ?? 'default');
    if (!ctx.data.csr) throw badRequest('"csr" is empty');
    let csr;
    try {
      csr = parseCsr(ctx.data.csr);
    } catch (err) {
      throw badRequest(`certificate request could not be parsed: ${(err as Error).message}`);
    }
    const useCsr = ctx.data.use_csr_values === true;
    const subject = useCsr ? csr.subject : { ...subjectFrom(ctx.data), commonName: ctx.data.common_name ?? csr.subject.commonName };
    if (!subject.commonName) throw badRequest('the common_name field is required');
    const now = new Date();
    const { notAfter, warnings } = intermediateValidity(
      ctx.data.ttl ?? 0,
      ctx.data.enforce_leaf_not_after_behavior === true,
      { notAfter: issuer.notAfter, behavior: issuer.leafNotAfterBehavior },
      mountTtlLimits(ctx.mount),
      now,
    );
    const u = await urls(ctx.mount.uuid);
    const der = await buildCertificate({
      serial: randomSerial(),
      subject,
      issuer: { nameDer: issuer.nameDer, signer: issuer.signer, subjectKeyId: issuer.subjectKeyId },
      publicKey: csr.publicKey,
      notBefore: new Date(now.getTime() - 30_000),
      notAfter,
      isCa: true,
      maxPathLength: ctx.data.max_path_length,
      keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
      extKeyUsage: [],
      ...(useCsr
        ? { dnsNames: csr.dnsNames, ipAddresses: csr.ipAddresses, uris: csr.uris, emails: csr.emails }
        : caSans({ ...ctx.data, common_name: subject.commonName })),
      issuingCertificateUrls: u.issuingCertificates,
      crlDistributionPoints: u.crlDistributionPoints,
      ocspServers: u.ocspServers,
    });
    const record = certificateRecord(der, 'intermediate_ca', issuer.id, ['CertSign', 'CRLSign']);
    const [serial, pem] = [record.serialNumber, record.certificatePem];
    await certificates.insert(ctx.mount.uuid, record);
    return logical(
      {
        certificate: pem,
        issuing_ca: issuer.certPem,
        ca_chain: [pem, issuer.certPem, ...issuer.chainPem],
        serial_number: serial,
        expiration: Math.floor(notAfter.getTime() / 1000),
      },
      warnings.length ? warnings : undefined,
    );
  };

  const setSigned = async (ctx: RouteContext<typeof SUBJECT_FIELDS>) => {
    const pems = fromPem(ctx.data.certificate ?? '', 'CERTIFICATE');
    if (pems.length === 0) throw badRequest('no certificate found in "certificate"');
    const [leaf, ...chain] = pems;
    let parts;
    try {
      parts = certificateParts(leaf);
    } catch (err) {
      throw badRequest(`the certificate could not be parsed: ${(err as Error).message}`);
    }
    if (!parts.isCa) throw badRequest('the certificate is not a CA certificate');
    let keyId = await issuers.keyFor(ctx.mount.uuid, parts);
    const legacyId = legacyPendingKeyId(parts.publicKey);
    if (!keyId) {
      // A key the first increment's intermediate/generate left waiting in the engine objects.
      const pending = await objects.get<{ pkcs8: string }>(ctx.mount.uuid, 'pki-pending-key', legacyId);
      if (!pending) throw badRequest('no key generated by intermediate/generate matches this certificate');
      keyId = (await issuers.importKey(ctx.mount.uuid, createPrivateKey({ key: Buffer.from(pending.pkcs8, 'base64'), format: 'der', type: 'pkcs8' }))).id;
    }
    const { issuer, existing } = await issuers.importIssuer(ctx.mount.uuid, leaf, {
      chainPem: chain.map((c) => toPem(c, 'CERTIFICATE')),
      certType: 'intermediate_ca',
      signedBy: null,
      keyId,
    });
    await objects.delete(ctx.mount.uuid, 'pki-pending-key', legacyId);
    return logical({
      imported_issuers: existing ? null : [issuer.id],
      imported_keys: null,
      mapping: { [issuer.id]: issuer.keyId },
      existing_issuers: existing ? [issuer.id] : null,
      existing_keys: null,
    });
  };

  return [
    route({
      path: 'root/generate/:type',
      fields: SUBJECT_FIELDS,
      help: 'A new self-signed root CA as a new issuer (internal: the key never leaves; exported: returned once; existing: the stored key key_ref names; kms: the managed key managed_key_name or managed_key_id names, on its HSM).',
      handlers: { update: generateRoot(false) },
    }),
    route({ path: 'issuers/generate/root/:type', fields: SUBJECT_FIELDS, help: 'Same as root/generate.', handlers: { update: generateRoot(false) } }),
    route({
      path: 'root/rotate/:type',
      fields: SUBJECT_FIELDS,
      help: 'A new root as root/generate, named `next` unless issuer_name says otherwise; the default issuer stays (see root/replace).',
      handlers: { update: generateRoot(true) },
    }),
    route({
      path: 'intermediate/generate/:type',
      fields: SUBJECT_FIELDS,
      help: 'A CSR for an intermediate CA, with a new key (stored at once), the stored key key_ref names (existing) or a managed key (kms).',
      handlers: { update: generateIntermediate() },
    }),
    route({
      path: 'issuers/generate/intermediate/:type',
      fields: SUBJECT_FIELDS,
      help: 'Same as intermediate/generate.',
      handlers: { update: generateIntermediate() },
    }),
    route({
      path: 'intermediate/cross-sign',
      fields: SUBJECT_FIELDS,
      help: 'A CSR for an existing key (key_ref): intermediate/generate/existing, to be signed by another CA and installed with set-signed.',
      handlers: { update: generateIntermediate('existing') },
    }),
    route({
      path: 'root/sign-intermediate',
      fields: SIGN_INTERMEDIATE_FIELDS,
      help: "Signs an intermediate CA's CSR with the default issuer (cut to the issuer's validity unless enforce_leaf_not_after_behavior).",
      handlers: { update: signIntermediate },
    }),
    route({
      path: 'issuer/:ref/sign-intermediate',
      fields: SIGN_INTERMEDIATE_FIELDS,
      help: "Signs an intermediate CA's CSR with the issuer :ref names.",
      handlers: { update: signIntermediate },
    }),
    route({
      path: 'intermediate/set-signed',
      fields: SUBJECT_FIELDS,
      help: 'Installs a signed intermediate certificate whose key this mount holds (chain after it allowed) as a new issuer.',
      handlers: { update: setSigned },
    }),
    route({
      path: 'root/replace',
      fields: { default: { type: 'string', default: 'next', description: 'The issuer to make the default (default `next`).' } },
      help: 'Makes another issuer the default (after root/rotate).',
      handlers: {
        update: async (ctx) => {
          const ref = ctx.data.default;
          if (!ref.trim() || ref.trim().toLowerCase() === 'default')
            throw badRequest("Invalid issuer specification; must be non-empty and can't be 'default'.");
          const id = await issuers.resolve(ctx.mount.uuid, ref);
          if (!id) throw badRequest(`Error resolving issuer reference: unable to find PKI issuer for reference: ${ref}`);
          const config = await issuers.setConfig(ctx.mount.uuid, { default: id });
          return logical({ default: config.default, default_follows_latest_issuer: config.defaultFollowsLatestIssuer });
        },
      },
    }),
    {
      path: 'root',
      help: 'Deletes every issuer and key of the mount (the certificates it issued stay in its store).',
      handlers: {
        delete: async (ctx) => {
          await issuers.deleteAll(ctx.mount.uuid);
          return null;
        },
      },
    },
  ];
}
