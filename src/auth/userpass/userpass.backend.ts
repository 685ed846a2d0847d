/**
 * The userpass auth method (Vault's `userpass`): users/:username CRUD, users/:username/password,
 * users/:username/policies, LIST users, and login/:username.
 *
 * Invariants:
 * - usernames are normalised once (normaliseLoginName: NFKC, trimmed, lower case) for storage,
 *   lookup and the lockout counter alike, so no spelling of a name escapes its counter;
 * - reads never show a password or its hash;
 * - every login runs exactly one argon2id verification (against the dummy hash for an unknown
 *   user) and one lockout attempt, and an unknown user, a wrong password and a locked user all get
 *   the same 400 `invalid username or password`.
 */
import type { BackendDefinition } from '../../framework/backend';
import type { Fields } from '../../framework/fields';
import { logical, route, type RequestContext, type RouteContext, type RouteDefinition } from '../../framework/route';
import { ipInCidrs } from '../../kernel/cidr';
import { badRequest, notFound, permissionDenied } from '../../kernel/errors';
import type { TokenStore } from '../../kernel/token/token-store.service';
import { normaliseLoginName } from '../../shared/lockout/lockout';
import type { LoginLockout } from '../../shared/lockout/lockout.service';
import {
  applyTokenParams,
  defaultTokenParams,
  loginPolicies,
  loginToken,
  POLICIES_CHANGED,
  samePolicies,
  TOKEN_PARAM_FIELDS,
  tokenParamsOutput,
} from '../../shared/token/token-params';
import { authBlock } from '../../shared/token/token-output';
import { dummyHash, type PasswordHasher } from './password-hasher';
import type { UserpassRepository } from './userpass.repository';

/** Vault's literal answer for every failed login. */
export const INVALID_LOGIN = 'invalid username or password';

/** Vault's GenericNameRegex, on the normalised (lower-case) name. */
const USERNAME = /^[a-z0-9_](?:[a-z0-9_.@-]*[a-z0-9_])?$/;
const MAX_USERNAME_LENGTH = 256;
/** argon2 accepts up to 4 GiB; nothing longer than this is a password. */
const MAX_PASSWORD_LENGTH = 4096;

const PASSWORD_FIELD = { password: { type: 'string', description: 'Password of the user.' } } as const satisfies Fields;
const USER_FIELDS = { ...PASSWORD_FIELD, ...TOKEN_PARAM_FIELDS } as const satisfies Fields;
const POLICY_FIELDS = { token_policies: TOKEN_PARAM_FIELDS.token_policies, policies: TOKEN_PARAM_FIELDS.policies } as const satisfies Fields;

export interface UserpassDeps {
  users: UserpassRepository;
  tokens: TokenStore;
  hasher: PasswordHasher;
  lockout: LoginLockout;
}

/** The normalised username of a management path; a name Vault would not route is a 400. */
function managedUsername(ctx: RequestContext): string {
  const name = normaliseLoginName(ctx.params.username);
  if (name.length > MAX_USERNAME_LENGTH || !USERNAME.test(name))
    throw badRequest('invalid username: letters, digits, "_", "-", "." and "@" only, not starting or ending with "-", "." or "@"');
  return name;
}

function password(ctx: RequestContext<{ password?: string }>, required: true): string;
function password(ctx: RequestContext<{ password?: string }>, required: boolean): string | undefined;
function password(ctx: RequestContext<{ password?: string }>, required: boolean): string | undefined {
  const value = ctx.data.password;
  if (value === undefined || value === '') {
    if (required) throw badRequest('missing password');
    return undefined;
  }
  if (value.length > MAX_PASSWORD_LENGTH) throw badRequest(`password longer than ${MAX_PASSWORD_LENGTH} characters`);
  return value;
}

export function userpassPaths(deps: UserpassDeps): RouteDefinition[] {
  const { users, tokens, hasher, lockout } = deps;
  // Made once at start, with the same parameters as real hashes: unknown users are verified against it.
  const dummy = dummyHash(hasher);
  dummy.catch(() => undefined); // a failure surfaces in the login that awaits it (a 500), not as an unhandled rejection

  const writeUser = async (ctx: RouteContext<typeof USER_FIELDS>) => {
    const name = managedUsername(ctx);
    const existing = await users.get(ctx.mount.uuid, name);
    const params = applyTokenParams(existing?.tokenParams ?? defaultTokenParams(), ctx.data);
    const plain = password(ctx, existing === undefined);
    if (plain === undefined) {
      // Only token parameters change; a user deleted meanwhile is not recreated without a password.
      if (!(await users.setTokenParams(ctx.mount.uuid, name, params))) throw badRequest('missing password');
      return null;
    }
    await users.upsert(ctx.mount.uuid, { username: name, passwordHash: await hasher.hash(plain), tokenParams: params });
    return null;
  };

  const login = async (ctx: RouteContext<typeof PASSWORD_FIELD>) => {
    const plain = password(ctx, true);
    const name = normaliseLoginName(ctx.params.username);
    const user = name.length <= MAX_USERNAME_LENGTH && USERNAME.test(name) ? await users.get(ctx.mount.uuid, name) : undefined;
    // Over-long names share one counter per prefix: they are never users, and the table stays small.
    const attempt = await lockout.begin(ctx.mount, name.slice(0, MAX_USERNAME_LENGTH));
    const digest = user ? await users.passwordHash(ctx.mount.uuid, user) : await dummy;
    // Runs whatever the outcome: locked and unknown users cost the same work as a wrong password.
    const valid = await hasher.verify(digest, plain);
    if (!user || !valid || !attempt.allowed) {
      await attempt.failed();
      throw badRequest(INVALID_LOGIN);
    }
    if (user.tokenParams.tokenBoundCidrs.length > 0 && !ipInCidrs(ctx.remoteAddress, user.tokenParams.tokenBoundCidrs)) {
      await attempt.failed();
      throw permissionDenied();
    }
    await attempt.succeeded();
    const created = await tokens.create(
      loginToken(user.tokenParams, ctx.mount, {
        name: user.username,
        creationPath: `${ctx.mount.path}login/${user.username}`,
        meta: { username: user.username },
      }),
    );
    return logical(null, undefined, authBlock(created.token, created.accessor, created.info));
  };

  return [
    { path: 'users', help: 'List the users.', handlers: { list: async (ctx) => logical({ keys: await users.usernames(ctx.mount.uuid) }) } },
    route({
      path: 'users/:username',
      fields: USER_FIELDS,
      existenceCheck: async (ctx) => (await users.get(ctx.mount.uuid, managedUsername(ctx))) !== undefined,
      help: 'Create (password required), update, read (never the password) or delete a user.',
      handlers: {
        read: async (ctx) => {
          const user = await users.get(ctx.mount.uuid, managedUsername(ctx));
          if (!user) throw notFound();
          return logical(tokenParamsOutput(user.tokenParams));
        },
        update: writeUser,
        delete: async (ctx) => {
          await users.delete(ctx.mount.uuid, managedUsername(ctx));
          return null;
        },
      },
    }),
    route({
      path: 'users/:username/password',
      fields: PASSWORD_FIELD,
      help: "Change a user's password.",
      handlers: {
        update: async (ctx) => {
          const name = managedUsername(ctx);
          const plain = password(ctx, true);
          if (!(await users.setPassword(ctx.mount.uuid, name, await hasher.hash(plain)))) throw badRequest('username does not exist');
          return null;
        },
      },
    }),
    route({
      path: 'users/:username/policies',
      fields: POLICY_FIELDS,
      help: "Change a user's token policies.",
      handlers: {
        update: async (ctx) => {
          const name = managedUsername(ctx);
          const user = await users.get(ctx.mount.uuid, name);
          if (!user) throw badRequest('username does not exist');
          const given = ctx.data.token_policies ?? ctx.data.policies;
          const params = applyTokenParams(user.tokenParams, given === undefined ? { token_policies: [] } : ctx.data);
          if (!(await users.setTokenParams(ctx.mount.uuid, name, params))) throw badRequest('username does not exist');
          return null;
        },
      },
    }),
    route({
      path: 'login/:username',
      auth: 'none',
      fields: PASSWORD_FIELD,
      help: 'Log in with a username and password.',
      handlers: { update: login },
    }),
  ];
}

export function userpassBackend(deps: UserpassDeps): BackendDefinition {
  const routes = userpassPaths(deps);
  return {
    type: 'userpass',
    class: 'auth',
    routes: () => routes,
    // As Vault's login renew: the user must still exist, with the policies the token was given.
    async renewLogin(mount, token) {
      const user = await deps.users.get(mount.uuid, token.meta.username ?? '');
      if (!user) throw permissionDenied();
      if (!samePolicies(loginPolicies(user.tokenParams.policies, user.tokenParams.tokenNoDefaultPolicy), token.policies)) throw badRequest(POLICIES_CHANGED);
    },
  };
}
