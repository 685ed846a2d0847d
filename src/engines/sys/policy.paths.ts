/** sys/policy (legacy) and sys/policies/acl: ACL policy CRUD. Names are normalised by the store. */
import { badRequest, notFound } from '../../kernel/errors';
import type { PolicyStore } from '../../kernel/policy/policy-store.service';
import { toStringValue } from '../../framework/field-types';
import { logical, type RequestContext, type RouteDefinition } from '../../framework/route';

/** The policy text from `policy` (or legacy `rules`); base64-encoded text is accepted, as in Vault. */
function policyText(ctx: RequestContext): { text: string; warnings?: string[] } {
  let warnings: string[] | undefined;
  let raw = ctx.body.policy;
  if (raw === undefined && ctx.body.rules !== undefined) {
    raw = ctx.body.rules;
    warnings = ["'rules' is deprecated, please use 'policy' instead"];
  }
  if (raw === undefined || raw === null || raw === '') throw badRequest("'policy' parameter not supplied or empty");
  return { text: decodeBase64Policy(toStringValue('policy', raw)), warnings };
}

/** Policy text may be sent base64-encoded (Vault's); text that decodes to readable UTF-8 is decoded. */
export function decodeBase64Policy(text: string): string {
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text.trim()) && text.trim().length % 4 === 0) {
    const decoded = Buffer.from(text.trim(), 'base64').toString('utf8');
    if (!decoded.includes('\uFFFD') && !decoded.includes('\u0000') && decoded.trim() !== '') return decoded;
  }
  return text;
}

export function policyPaths(policies: PolicyStore): RouteDefinition[] {
  const exists = async (ctx: RequestContext) => (await policies.get(ctx.params.name)) !== undefined;
  const list = async () => {
    const keys = await policies.list();
    return logical({ keys, policies: keys });
  };
  const write = async (ctx: RequestContext) => {
    const { text, warnings } = policyText(ctx);
    await policies.put(ctx.params.name, text);
    return warnings ? logical(null, warnings) : null;
  };
  const remove = async (ctx: RequestContext) => {
    await policies.delete(ctx.params.name);
    return null;
  };
  return [
    {
      path: 'policy',
      injectDataAtTopLevel: true,
      help: 'List the ACL policies.',
      handlers: { read: list, list },
    },
    {
      path: 'policy/*name',
      injectDataAtTopLevel: true,
      existenceCheck: exists,
      help: 'Read, write or delete an ACL policy (legacy path; the read answers `rules`).',
      handlers: {
        read: async (ctx) => {
          const p = await policies.get(ctx.params.name);
          if (!p) throw notFound();
          return logical({ name: p.name, rules: p.raw });
        },
        update: write,
        delete: remove,
      },
    },
    {
      path: 'policies/acl',
      help: 'List the ACL policies.',
      handlers: { list: async () => logical({ keys: await policies.list() }) },
    },
    {
      path: 'policies/acl/*name',
      existenceCheck: exists,
      help: 'Read, write or delete an ACL policy (HCL or JSON in `policy`).',
      handlers: {
        read: async (ctx) => {
          const p = await policies.get(ctx.params.name);
          if (!p) throw notFound();
          return logical({ name: p.name, policy: p.raw });
        },
        update: write,
        delete: remove,
      },
    },
  ];
}
