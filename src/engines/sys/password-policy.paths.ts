/**
 * sys/policies/password: Vault's password policies — write (checked by generating samples), read,
 * list, delete, and generate a password. The ACL judges `sys/policies/password/<name>` and
 * `sys/policies/password/<name>/generate` like any other path. Names are one path segment.
 */
import type { Fields } from '../../framework/fields';
import { logical, route, type RouteDefinition } from '../../framework/route';
import { ApiError, badRequest } from '../../kernel/errors';
import type { PasswordPolicies } from '../../kernel/password-policy/password-policies';
import { decodeBase64Policy } from './policy.paths';

const FIELDS = { policy: { type: 'string', description: 'The password policy document (HCL or JSON; may be base64-encoded).' } } as const satisfies Fields;

/** Vault's answer for a policy that does not exist, on read and generate. */
const missing = () => new ApiError(404, ['policy does not exist']);

export function passwordPolicyPaths(policies: PasswordPolicies): RouteDefinition[] {
  return [
    {
      path: 'policies/password',
      help: 'List the password policies.',
      handlers: { list: async () => logical({ keys: await policies.list() }) },
    },
    {
      path: 'policies/password/:name/generate',
      help: 'Generate a password from an existing password policy.',
      handlers: {
        read: async (ctx) => {
          const password = await policies.tryGenerate(ctx.params.name);
          if (password === undefined) throw missing();
          return logical({ password });
        },
      },
    },
    route({
      path: 'policies/password/:name',
      fields: FIELDS,
      help: 'Read, create or update, or delete a password policy (`policy`: `length` and `rule "charset"` blocks).',
      handlers: {
        read: async (ctx) => {
          const policy = await policies.read(ctx.params.name);
          if (policy === undefined) throw missing();
          return logical({ policy });
        },
        update: async (ctx) => {
          const raw = ctx.data.policy;
          if (raw === undefined || raw === '') throw badRequest('missing policy');
          await policies.put(ctx.params.name, decodeBase64Policy(raw));
          return null;
        },
        delete: async (ctx) => {
          await policies.delete(ctx.params.name);
          return null;
        },
      },
    }),
  ];
}
