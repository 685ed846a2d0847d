/**
 * The `cert` auth method (Vault's TLS certificate auth): certs/:name trusted entries, crls/:name,
 * config, and login with the TLS client certificate of the connection.
 *
 * Invariants:
 * - only the connection's certificate counts (never a certificate in the body), and it is verified
 *   here, whatever the listener concluded: a path to the entry's certificates (verifyPath: validity,
 *   signatures, CA constraints, clientAuth), no certificate of the path on a stored CRL, and the
 *   entry's constraints;
 * - every failed login gets the same 400, whichever check failed;
 * - a renewal (unless config disable_binding) presents a certificate that passes the same checks
 *   against the entry the token came from and has the login certificate's serial number, subject
 *   key id and authority key id (Vault accepts a match of either key id alone); the entry must
 *   still exist with the same policies.
 */
import type { BackendDefinition, MountEntry } from '../../framework/backend';
import type { Fields } from '../../framework/fields';
import { logical, route, type RequestContext, type RouteContext, type RouteDefinition } from '../../framework/route';
import { colonHex, EKU, serialToVault } from '../../crypto/x509/certificate';
import { parseCertificate, verifyPath, type ParsedCertificate } from '../../crypto/x509/chain';
import { parseCrl } from '../../crypto/x509/crl';
import { fromPem } from '../../crypto/x509/pem';
import { ipInCidrs } from '../../kernel/cidr';
import { badRequest, notFound, permissionDenied } from '../../kernel/errors';
import type { TokenInfo, TokenStore } from '../../kernel/token/token-store.service';
import type { EngineObjectRepository } from '../../shared/engine-objects.repository';
import { loginPolicies, loginToken, POLICIES_CHANGED, samePolicies } from '../../shared/token/token-params';
import { authBlock } from '../../shared/token/token-output';
import { applyCertRole, CERT_ROLE_FIELDS, certRoleOutput, trustedCertificates, type CertRole } from './cert-role';
import { matchesConstraints } from './cert-match';

/** The answer to every failed login (Vault's). */
export const INVALID_CERT_LOGIN = 'invalid certificate or no client certificate supplied';

const ROLE = 'cert-role';
const CRL = 'cert-crl';
const CONFIG = 'cert-config';
const NAME = /^\w(?:[\w.@-]*\w)?$/;

interface StoredCrl {
  /** serialToVault form of every revoked serial. */
  serials: string[];
}

interface CertConfig {
  disableBinding: boolean;
}

export interface CertAuthDeps {
  objects: EngineObjectRepository;
  tokens: TokenStore;
}

function entryName(ctx: RequestContext): string {
  const name = ctx.params.name.toLowerCase();
  if (!NAME.test(name)) throw badRequest('invalid name: letters, digits, "_", "-", "." and "@" only');
  return name;
}

/** Hex `aa:bb` of a key identifier, as Vault's metadata shows it. */
const hexId = (id: Buffer | undefined) => (id ? colonHex(id) : '');
const decimalSerial = (serial: Buffer) => BigInt(`0x${serial.toString('hex') || '0'}`).toString(10);

/** The metadata of a login token: Vault's fields, which renewals compare against. */
function loginMetadata(role: CertRole, leaf: ParsedCertificate): Record<string, string> {
  return {
    cert_name: role.name,
    common_name: leaf.parts.commonName ?? '',
    serial_number: decimalSerial(leaf.parts.serial),
    subject_key_id: hexId(leaf.parts.subjectKeyId),
    authority_key_id: hexId(leaf.parts.authorityKeyId),
  };
}

function crlSerials(text: string): string[] {
  let ders: Buffer[];
  try {
    ders = text.includes('-----BEGIN') ? fromPem(text, 'X509 CRL') : [Buffer.from(text, 'base64')];
  } catch {
    ders = [];
  }
  if (ders.length !== 1) throw badRequest('failed to parse CRL: want one PEM X509 CRL block or base64 DER');
  try {
    return parseCrl(ders[0]).revoked.map((r) => serialToVault(r.serial));
  } catch {
    throw badRequest('failed to parse CRL');
  }
}

async function revokedSerials(objects: EngineObjectRepository, mount: MountEntry): Promise<Set<string>> {
  const out = new Set<string>();
  for (const name of await objects.names(mount.uuid, CRL)) {
    for (const serial of (await objects.get<StoredCrl>(mount.uuid, CRL, name))?.serials ?? []) out.add(serial);
  }
  return out;
}

/** The connection's certificate checked against `role`: true only if every check passes. */
function certificateFits(leaf: ParsedCertificate, presented: ParsedCertificate[], role: CertRole, revoked: Set<string>): boolean {
  const result = verifyPath(leaf, presented, trustedCertificates(role.certificatePem), new Date(), EKU.clientAuth);
  if (!result.ok) return false;
  if ([...result.path, result.anchor].some((c) => revoked.has(serialToVault(c.parts.serial)))) return false;
  return matchesConstraints(leaf.parts, role);
}

/** The connection's certificate and the first entry (by name, or `only`) it fits; a 400 otherwise. */
async function verifiedLogin(objects: EngineObjectRepository, ctx: RequestContext, only?: string): Promise<{ role: CertRole; leaf: ParsedCertificate }> {
  const peer = ctx.peerCertificate;
  if (!peer) throw badRequest(INVALID_CERT_LOGIN);
  let leaf: ParsedCertificate;
  try {
    leaf = parseCertificate(peer.der);
  } catch {
    throw badRequest(INVALID_CERT_LOGIN);
  }
  const presented = peer.chainDer.flatMap((der) => {
    try {
      return [parseCertificate(der)];
    } catch {
      return [];
    }
  });
  const names = only !== undefined ? [only] : await objects.names(ctx.mount.uuid, ROLE);
  const revoked = await revokedSerials(objects, ctx.mount);
  for (const name of names) {
    const role = await objects.get<CertRole>(ctx.mount.uuid, ROLE, name);
    if (role && certificateFits(leaf, presented, role, revoked)) return { role, leaf };
  }
  throw badRequest(INVALID_CERT_LOGIN);
}

async function certConfig(objects: EngineObjectRepository, mount: MountEntry): Promise<CertConfig> {
  return (await objects.get<CertConfig>(mount.uuid, CONFIG, 'config')) ?? { disableBinding: false };
}

export function certAuthPaths(deps: CertAuthDeps): RouteDefinition[] {
  const { objects, tokens } = deps;
  const roleOf = (mount: MountEntry, name: string) => objects.get<CertRole>(mount.uuid, ROLE, name);

  const login = async (ctx: RouteContext<typeof nameField>) => {
    const only = ctx.data.name ? ctx.data.name.toLowerCase() : undefined;
    const { role, leaf } = await verifiedLogin(objects, ctx, only);
    const params = role.tokenParams;
    if (params.tokenBoundCidrs.length > 0 && !ipInCidrs(ctx.remoteAddress, params.tokenBoundCidrs)) throw permissionDenied();
    const created = await tokens.create(
      loginToken(params, ctx.mount, { name: role.displayName, creationPath: `${ctx.mount.path}login`, meta: loginMetadata(role, leaf) }),
    );
    return logical(null, undefined, authBlock(created.token, created.accessor, created.info));
  };

  const list = (kind: string) => async (ctx: RequestContext) => {
    const keys = await objects.names(ctx.mount.uuid, kind);
    if (keys.length === 0) throw notFound();
    return logical({ keys });
  };

  const nameField = { name: { type: 'string', description: 'Only try this trusted certificate entry.' } } as const satisfies Fields;
  return [
    { path: 'certs', help: 'List the trusted certificate entries.', handlers: { list: list(ROLE) } },
    route({
      path: 'certs/:name',
      fields: CERT_ROLE_FIELDS,
      existenceCheck: async (ctx) => (await roleOf(ctx.mount, entryName(ctx))) !== undefined,
      help: 'A trusted CA (or pinned client) certificate, the constraints a login certificate must meet, and the token it gets.',
      handlers: {
        read: async (ctx) => {
          const role = await roleOf(ctx.mount, entryName(ctx));
          if (!role) throw notFound();
          return logical(certRoleOutput(role));
        },
        update: async (ctx) => {
          const name = entryName(ctx);
          await objects.put(ctx.mount.uuid, ROLE, name, applyCertRole(name, await roleOf(ctx.mount, name), ctx.data));
          return null;
        },
        delete: async (ctx) => {
          await objects.delete(ctx.mount.uuid, ROLE, entryName(ctx));
          return null;
        },
      },
    }),
    { path: 'crls', help: 'List the stored CRLs.', handlers: { list: list(CRL) } },
    route({
      path: 'crls/:name',
      fields: { crl: { type: 'string', description: 'The CRL, PEM or base64 DER: logins by a certificate it lists (anywhere in the path) fail.' } },
      help: 'A CRL checked at every login and renewal.',
      handlers: {
        read: async (ctx) => {
          const stored = await objects.get<StoredCrl>(ctx.mount.uuid, CRL, entryName(ctx));
          if (!stored) throw notFound();
          const serials: Record<string, Record<string, never>> = {};
          for (const s of stored.serials) serials[decimalSerial(Buffer.from(s.replace(/:/g, ''), 'hex'))] = {};
          return logical({ serials });
        },
        update: async (ctx) => {
          const text = ctx.data.crl;
          if (!text) throw badRequest('missing crl');
          await objects.put(ctx.mount.uuid, CRL, entryName(ctx), { serials: crlSerials(text) } satisfies StoredCrl);
          return null;
        },
        delete: async (ctx) => {
          await objects.delete(ctx.mount.uuid, CRL, entryName(ctx));
          return null;
        },
      },
    }),
    route({
      path: 'config',
      fields: { disable_binding: { type: 'bool', description: 'Renewals need not present the login certificate (default false).' } },
      help: 'Settings of the method.',
      handlers: {
        read: async (ctx) => logical({ disable_binding: (await certConfig(objects, ctx.mount)).disableBinding }),
        update: async (ctx) => {
          const current = await certConfig(objects, ctx.mount);
          await objects.put(ctx.mount.uuid, CONFIG, 'config', { disableBinding: ctx.data.disable_binding ?? current.disableBinding } satisfies CertConfig);
          return null;
        },
      },
    }),
    route({ path: 'login', auth: 'none', fields: nameField, help: 'Log in with the TLS client certificate of the connection.', handlers: { update: login } }),
  ];
}

export function certAuthBackend(deps: CertAuthDeps): BackendDefinition {
  const routes = certAuthPaths(deps);
  const { objects } = deps;
  return {
    type: 'cert',
    class: 'auth',
    routes: () => routes,
    async renewLogin(mount: MountEntry, token: TokenInfo, request: RequestContext) {
      const role = await objects.get<CertRole>(mount.uuid, ROLE, token.meta.cert_name ?? '');
      if (!role) throw permissionDenied();
      if (!(await certConfig(objects, mount)).disableBinding) {
        // Re-run the login's checks against the same entry, then require the same certificate identity.
        const { leaf } = await verifiedLogin(objects, { ...request, mount }, role.name).catch(() => {
          throw permissionDenied();
        });
        const now = loginMetadata(role, leaf);
        if (
          now.serial_number !== token.meta.serial_number ||
          now.subject_key_id !== token.meta.subject_key_id ||
          now.authority_key_id !== token.meta.authority_key_id
        )
          throw permissionDenied();
      }
      if (!samePolicies(loginPolicies(role.tokenParams.policies, role.tokenParams.tokenNoDefaultPolicy), token.policies)) throw badRequest(POLICIES_CHANGED);
    },
  };
}
