/**
 * A pki mount's issuers (Vault's path_fetch_issuers.go, path_manage_issuers.go, path_config_ca.go):
 * `LIST issuers`, `issuer/:ref` (read, POST, PATCH, DELETE), `issuer/:ref/json|pem|der`,
 * `issuer/:ref/crl[/pem|/der]`, `config/issuers`, and imports of PEM bundles (`config/ca`,
 * `issuers/import/bundle`, `issuers/import/cert`).
 *
 * Invariants: `:ref` is an id, a name or `default`; issuers of the first increment keep their id
 * (their serial), new ones get a UUID; importing a certificate the mount already holds adds
 * nothing; a private key in a bundle is never echoed, not even in an error.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { Fields } from '../../framework/fields';
import { logical, raw, route, type RequestContext, type RouteContext, type RouteDefinition } from '../../framework/route';
import { certificateParts, toPem } from '../../crypto/x509/certificate';
import { pemBlocks } from '../../crypto/x509/pem';
import { ApiError, badRequest, notFound } from '../../kernel/errors';
import type { CrlConfig, Issuer, IssuerStore } from './issuers';
import { usageNames } from './issuers';
import { issuerName, issuerUsage, leafNotAfterBehavior } from './issuer-fields';
import type { IssuerRow } from './issuer.repository';
import { namesChecked } from './pki-ca.paths';
import type { PkiUrls } from './pki.backend';

export interface PkiIssuerDeps {
  issuers: IssuerStore;
  urls(mountUuid: string): Promise<PkiUrls>;
  crlConfig(mountUuid: string): Promise<CrlConfig>;
}

const ISSUER_FIELDS = {
  issuer_name: { type: 'string', description: "The issuer's name (POST without it clears the name; PATCH keeps it)." },
  leaf_not_after_behavior: { type: 'string', description: 'err (default), truncate or permit: what happens to a certificate that would outlive the issuer.' },
  usage: { type: 'string-list', description: 'read-only, issuing-certificates, crl-signing, ocsp-signing (default all).' },
  manual_chain: {
    type: 'string-list',
    description: "Issuer references making this issuer's ca_chain (the first `self`); empty: built from the mount's issuers.",
  },
} as const satisfies Fields;

const IMPORT_FIELDS = {
  pem_bundle: { type: 'string', description: 'PEM certificates and (config/ca, issuers/import/bundle) unencrypted private keys.' },
  certificate: { type: 'string', description: 'Instead of pem_bundle: PEM certificates only.' },
} as const satisfies Fields;

/** A list as Go's JSON writes an empty slice it never filled: null. */
const orNull = <T>(list: T[]) => (list.length > 0 ? list : null);

export function pkiIssuerPaths({ issuers, urls, crlConfig }: PkiIssuerDeps): RouteDefinition[] {
  /** Reads of an issuer itself: an unknown reference is a 404 (Vault: a 500) with Vault's message. */
  const byRef = async (ctx: RequestContext): Promise<Issuer> => {
    const issuer = await issuers.byRef(ctx.mount.uuid, ctx.params.ref);
    if (!issuer) throw new ApiError(404, [`unable to find PKI issuer for reference: ${ctx.params.ref}`]);
    return issuer;
  };
  const describe = async (ctx: RequestContext, issuer: Issuer, warnings: string[] = []) => {
    const u = await urls(ctx.mount.uuid);
    return logical(
      {
        issuer_id: issuer.id,
        issuer_name: issuer.name,
        key_id: issuer.keyId ?? '',
        certificate: issuer.certPem,
        ca_chain: [issuer.certPem, ...issuer.chainPem],
        manual_chain: orNull(issuer.manualChain),
        leaf_not_after_behavior: issuer.leafNotAfterBehavior,
        usage: usageNames(issuer.usage),
        revocation_signature_algorithm: '',
        revoked: false,
        issuing_certificates: u.issuingCertificates,
        crl_distribution_points: u.crlDistributionPoints,
        delta_crl_distribution_points: [],
        ocsp_servers: u.ocspServers,
        enable_aia_url_templating: false,
      },
      warnings.length ? warnings : undefined,
    );
  };

  /** POST (every field, absent ones back to Vault's defaults) or PATCH (only those sent). */
  const write = (patch: boolean) => async (ctx: RouteContext<typeof ISSUER_FIELDS, 'update' | 'patch'>) => {
    const issuer = await issuers.require(ctx.mount.uuid, ctx.params.ref);
    // Sent means present in the body, null and "" included (ctx.data leaves those out).
    const given = (field: string) => !patch || Object.prototype.hasOwnProperty.call(ctx.body, field);
    const row: IssuerRow = { ...issuer.row };
    if (given('issuer_name')) {
      const raw = ctx.data.issuer_name;
      // POST: a name sent empty is refused, none sent clears it; PATCH: empty clears it.
      if (!patch && raw !== undefined && !raw.trim()) throw badRequest('expected non-empty issuer_name');
      row.name = issuerName(raw);
    }
    if (given('leaf_not_after_behavior')) row.leafNotAfterBehavior = leafNotAfterBehavior(ctx.data.leaf_not_after_behavior ?? 'err');
    if (given('usage')) {
      const usage =
        ctx.data.usage === undefined ? issuerUsage(['read-only', 'issuing-certificates', 'crl-signing', 'ocsp-signing']) : issuerUsage(ctx.data.usage);
      const keyUsage = certificateParts(issuer.certDer).keyUsage;
      if (usage.includes('crl-signing') && !issuer.usage.includes('crl-signing') && keyUsage.length > 0 && !keyUsage.includes('cRLSign')) {
        throw badRequest("This issuer's underlying certificate lacks the CRLSign KeyUsage value; unable to set CRLSigningUsage on this issuer as a result.");
      }
      row.usage = usage;
    }
    if (given('manual_chain')) {
      const refs = ctx.data.manual_chain ?? [];
      const chain: string[] = [];
      for (const [index, ref] of refs.entries()) {
        const resolved = await issuers.resolve(ctx.mount.uuid, index === 0 && ref === 'self' ? issuer.id : ref);
        if (!resolved) throw badRequest(`unable to find PKI issuer for reference: ${ref}`);
        if (index === 0 && resolved !== issuer.id) throw badRequest(`expected first cert in chain to be a self-reference, but was: ${ref}/${resolved}`);
        chain.push(resolved);
      }
      row.manualChain = chain;
    }
    await namesChecked('issuer', () => issuers.update(ctx.mount.uuid, row));
    return describe(ctx, (await issuers.byId(ctx.mount.uuid, issuer.id)) as Issuer);
  };

  /** The issuer's CRL: DER, PEM, or JSON holding the PEM. */
  const crlOf = async (ctx: RequestContext) => {
    const issuer = await byRef(ctx);
    return issuers.crl(ctx.mount.uuid, issuer, await crlConfig(ctx.mount.uuid));
  };

  /** Vault's pathImportIssuers: keys first (deduplicated by public key), then certificates (by content). */
  const importBundle = (keysAllowed: boolean) => async (ctx: RouteContext<typeof IMPORT_FIELDS>) => {
    const bundle = ctx.data.pem_bundle ?? '';
    const certificate = ctx.data.certificate ?? '';
    if (!bundle && !certificate) throw badRequest("'pem_bundle' and 'certificate' parameters were empty");
    if (bundle && certificate) throw badRequest("'pem_bundle' and 'certificate' parameters were both provided");
    const text = bundle || certificate;
    if (text.length < 75)
      throw badRequest('provided data for import was too short; perhaps a path was passed to the API rather than the contents of a PEM file');
    let blocks;
    try {
      blocks = pemBlocks(text);
    } catch {
      throw badRequest('provided PEM block contained no data');
    }
    if (blocks.length === 0) throw badRequest('provided PEM block contained no data');
    const certs = blocks.filter((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE');
    const keyBlocks = blocks.filter((b) => !['CERTIFICATE', 'X509 CERTIFICATE', 'CRL', 'X509 CRL', 'EC PARAMS', 'EC PARAMETERS'].includes(b.label));
    if (keyBlocks.length > 0 && (!keysAllowed || certificate))
      throw badRequest('private keys found in the PEM bundle but not allowed by the path; use /issuers/import/bundle');
    const keys: KeyObject[] = keyBlocks.map((b, index) => {
      try {
        return createPrivateKey({ key: toPem(b.der, b.label), format: 'pem' });
      } catch {
        throw badRequest(`Error parsing key ${index}: the block is not an unencrypted private key`);
      }
    });
    const parsed = certs.map((c, index) => {
      try {
        const parts = certificateParts(c.der);
        if (!parts.isCa) throw new Error('Refusing to import non-CA certificate');
        return c.der;
      } catch (err) {
        throw badRequest(`Error parsing issuer ${index}: ${(err as Error).message}`);
      }
    });
    const importedKeys: string[] = [];
    const existingKeys: string[] = [];
    for (const key of keys) {
      const { id, existing } = await issuers.importKey(ctx.mount.uuid, key);
      (existing ? existingKeys : importedKeys).push(id);
    }
    const importedIssuers: string[] = [];
    const existingIssuers: string[] = [];
    const mapping: Record<string, string> = {};
    for (const der of parsed) {
      // default_follows_latest_issuer is settled below, for the bundle as a whole.
      const { issuer, existing } = await issuers.importIssuer(ctx.mount.uuid, der, { followLatest: false });
      (existing ? existingIssuers : importedIssuers).push(issuer.id);
      mapping[issuer.id] = issuer.keyId ?? '';
    }
    const warnings: string[] = [];
    const withKeys = importedIssuers.filter((id) => mapping[id]);
    if ((await issuers.config(ctx.mount.uuid)).defaultFollowsLatestIssuer) {
      if (withKeys.length === 1) await issuers.setConfig(ctx.mount.uuid, { default: withKeys[0] });
      else if (withKeys.length > 1)
        warnings.push('Default issuer left unchanged: could not select new issuer automatically as multiple imported issuers had key material in Vault.');
    }
    const config = await issuers.config(ctx.mount.uuid);
    if (config.default && mapping[config.default] === '') {
      warnings.push(
        'The default issuer has no key associated with it. Some operations like issuing certificates and signing CRLs will be unavailable with the requested default issuer until a key is imported or the default issuer is changed.',
      );
    }
    const u = await urls(ctx.mount.uuid);
    if (u.issuingCertificates.length === 0 && u.crlDistributionPoints.length === 0 && u.ocspServers.length === 0) {
      warnings.push(
        "This mount hasn't configured any authority information access (AIA) fields; this may make it harder for systems to find missing certificates in the chain or to validate revocation status of certificates. Consider updating /config/urls or the newly generated issuer with this information.",
      );
    }
    return logical(
      {
        mapping,
        imported_keys: orNull(importedKeys),
        imported_issuers: orNull(importedIssuers),
        existing_keys: orNull(existingKeys),
        existing_issuers: orNull(existingIssuers),
      },
      warnings.length ? warnings : undefined,
    );
  };

  const importRoute = (path: string, keysAllowed: boolean, help: string) =>
    route({ path, fields: IMPORT_FIELDS, help, handlers: { update: importBundle(keysAllowed) } });

  return [
    {
      path: 'issuers',
      auth: 'none',
      help: 'Lists the issuers with key_info: is_default, issuer_name, key_id, serial_number.',
      handlers: {
        list: async (ctx) => {
          const rows = await issuers.repo.issuers(ctx.mount.uuid);
          if (rows.length === 0) throw notFound();
          const def = (await issuers.config(ctx.mount.uuid)).default;
          return logical({
            keys: rows.map((r) => r.id),
            key_info: Object.fromEntries(
              rows.map((r) => [r.id, { is_default: r.id === def, issuer_name: r.name, key_id: r.keyId ?? '', serial_number: r.serialNumber }]),
            ),
          });
        },
      },
    },
    route({
      path: 'issuer/:ref',
      fields: ISSUER_FIELDS,
      help: 'An issuer by id, name or `default`: read; POST sets every field (absent ones to their defaults), PATCH only those sent; DELETE removes it (its key stays).',
      handlers: {
        read: async (ctx) => describe(ctx, await byRef(ctx)),
        update: write(false),
        patch: write(true),
        delete: async (ctx) => {
          const id = await issuers.resolve(ctx.mount.uuid, ctx.params.ref);
          // Vault answers an unknown reference as if it had deleted it.
          if (!id) return null;
          const wasDefault = await issuers.delete(ctx.mount.uuid, id);
          if (!wasDefault) return null;
          return logical(null, [
            `Deleted issuer ${id} (via issuer_ref ${ctx.params.ref}); this was configured as the default issuer. Operations without an explicit issuer will not work until a new default is configured.`,
          ]);
        },
      },
    }),
    {
      path: 'issuer/:ref/json',
      auth: 'none',
      help: "An issuer's certificate and chain, without a token.",
      handlers: {
        read: async (ctx) => {
          const issuer = await byRef(ctx);
          return logical({ certificate: issuer.certPem, ca_chain: [issuer.certPem, ...issuer.chainPem], issuer_id: issuer.id, issuer_name: issuer.name });
        },
      },
    },
    {
      path: 'issuer/:ref/pem',
      auth: 'none',
      help: "An issuer's certificate, PEM.",
      handlers: { read: async (ctx) => raw(200, (await byRef(ctx)).certPem, 'application/pem-certificate-chain') },
    },
    {
      path: 'issuer/:ref/der',
      auth: 'none',
      help: "An issuer's certificate, DER.",
      handlers: { read: async (ctx) => raw(200, (await byRef(ctx)).certDer, 'application/pkix-cert') },
    },
    {
      path: 'issuer/:ref/crl',
      auth: 'none',
      help: "The issuer's own CRL (JSON: `crl`, PEM).",
      handlers: { read: async (ctx) => logical({ crl: toPem(await crlOf(ctx), 'X509 CRL') }) },
    },
    {
      path: 'issuer/:ref/crl/pem',
      auth: 'none',
      help: "The issuer's own CRL, PEM.",
      handlers: { read: async (ctx) => raw(200, toPem(await crlOf(ctx), 'X509 CRL'), 'application/x-pem-file') },
    },
    {
      path: 'issuer/:ref/crl/der',
      auth: 'none',
      help: "The issuer's own CRL, DER.",
      handlers: { read: async (ctx) => raw(200, await crlOf(ctx), 'application/pkix-crl') },
    },
    route({
      path: 'config/issuers',
      fields: {
        default: { type: 'string', description: 'The default issuer (an id or a name).' },
        default_follows_latest_issuer: {
          type: 'bool',
          description: 'A new issuer with a key (root/generate, root/rotate, set-signed, imports) becomes the default.',
        },
      },
      help: 'The default issuer, and whether it follows the latest issuer.',
      handlers: {
        read: async (ctx) => {
          const c = await issuers.config(ctx.mount.uuid);
          return logical({ default: c.default, default_follows_latest_issuer: c.defaultFollowsLatestIssuer });
        },
        update: async (ctx) => {
          const change: { default?: string; defaultFollowsLatestIssuer?: boolean } = {};
          if (ctx.data.default !== undefined) {
            const ref = ctx.data.default.trim();
            if (!ref || ref.toLowerCase() === 'default') throw badRequest("Invalid issuer specification; must be non-empty and can't be 'default'.");
            const id = await issuers.resolve(ctx.mount.uuid, ref);
            if (!id) throw badRequest(`Error resolving issuer reference: unable to find PKI issuer for reference: ${ref}`);
            change.default = id;
          }
          if (ctx.data.default_follows_latest_issuer !== undefined) change.defaultFollowsLatestIssuer = ctx.data.default_follows_latest_issuer;
          const c = await issuers.setConfig(ctx.mount.uuid, change);
          return logical({ default: c.default, default_follows_latest_issuer: c.defaultFollowsLatestIssuer });
        },
      },
    }),
    importRoute('config/ca', true, 'Imports a PEM bundle of CA certificates and their private keys as issuers and keys.'),
    importRoute('issuers/import/bundle', true, 'Imports a PEM bundle of CA certificates and private keys as issuers and keys.'),
    importRoute('issuers/import/cert', false, 'Imports CA certificates (no keys) as issuers.'),
  ];
}
