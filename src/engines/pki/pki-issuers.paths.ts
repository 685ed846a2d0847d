/**
 * Read-only views of a pki mount's issuers (Vault's `issuers`, `issuer/:ref`, `config/issuers`).
 * One issuer per CA certificate generated or installed; its id is its serial number, and `default`
 * names the default issuer (the first one, which every issuing path uses).
 */
import { logical, raw, type RequestContext, type RouteDefinition } from '../../framework/route';
import { notFound } from '../../kernel/errors';
import type { Issuer, IssuerStore } from './issuers';
import { ISSUER_LEAF_NOT_AFTER_BEHAVIOR } from './validity';

export interface PkiIssuerDeps {
  issuers: IssuerStore;
  urls(mountUuid: string): Promise<{ issuingCertificates: string[]; crlDistributionPoints: string[]; ocspServers: string[] }>;
}

export function pkiIssuerPaths({ issuers, urls }: PkiIssuerDeps): RouteDefinition[] {
  const byRef = async (ctx: RequestContext): Promise<{ issuer: Issuer; isDefault: boolean }> => {
    const ref = ctx.params.ref;
    const def = await issuers.default(ctx.mount.uuid);
    const issuer = ref === 'default' ? def : (await issuers.serials(ctx.mount.uuid)).includes(ref) ? await issuers.bySerial(ctx.mount.uuid, ref) : undefined;
    if (!issuer) throw notFound();
    return { issuer, isDefault: issuer.serial === def?.serial };
  };
  const describe = async (ctx: RequestContext) => {
    const { issuer } = await byRef(ctx);
    const u = await urls(ctx.mount.uuid);
    return logical({
      issuer_id: issuer.serial,
      issuer_name: '',
      key_id: issuer.serial,
      certificate: issuer.certPem,
      ca_chain: [issuer.certPem, ...issuer.chainPem],
      manual_chain: null,
      leaf_not_after_behavior: ISSUER_LEAF_NOT_AFTER_BEHAVIOR,
      usage: 'crl-signing,issuing-certificates,ocsp-signing,read-only',
      issuing_certificates: u.issuingCertificates,
      crl_distribution_points: u.crlDistributionPoints,
      ocsp_servers: u.ocspServers,
    });
  };
  return [
    {
      path: 'issuers',
      auth: 'none',
      allowedWhileSealed: false,
      help: 'Lists the issuers (id = serial number) with key_info: is_default, issuer_name, key_id, serial_number.',
      handlers: {
        list: async (ctx) => {
          const keys = await issuers.serials(ctx.mount.uuid);
          if (keys.length === 0) throw notFound();
          const def = (await issuers.default(ctx.mount.uuid))?.serial;
          return logical({ keys, key_info: Object.fromEntries(keys.map((k) => [k, { is_default: k === def, issuer_name: '', key_id: k, serial_number: k }])) });
        },
      },
    },
    { path: 'issuer/:ref', auth: 'token', allowedWhileSealed: false, help: 'An issuer by id or `default`: its certificate, chain and URLs.', handlers: { read: describe } },
    { path: 'issuer/:ref/json', auth: 'none', allowedWhileSealed: false, help: 'An issuer\'s certificate and chain, without a token.', handlers: { read: async (ctx) => {
      const { issuer } = await byRef(ctx);
      return logical({ certificate: issuer.certPem, ca_chain: [issuer.certPem, ...issuer.chainPem], issuer_id: issuer.serial, issuer_name: '' });
    } } },
    { path: 'issuer/:ref/pem', auth: 'none', allowedWhileSealed: false, help: 'An issuer\'s certificate, PEM.', handlers: { read: async (ctx) => raw(200, (await byRef(ctx)).issuer.certPem, 'application/pem-certificate-chain') } },
    { path: 'issuer/:ref/der', auth: 'none', allowedWhileSealed: false, help: 'An issuer\'s certificate, DER.', handlers: { read: async (ctx) => raw(200, (await byRef(ctx)).issuer.certDer, 'application/pkix-cert') } },
    {
      path: 'config/issuers',
      auth: 'token',
      allowedWhileSealed: false,
      help: 'The default issuer (read only: the first CA of the mount stays the default).',
      handlers: { read: async (ctx) => logical({ default: (await issuers.default(ctx.mount.uuid))?.serial ?? '', default_follows_latest_issuer: false }) },
    },
  ];
}
