/**
 * `secrethub login [-method=<m>] [-path=<mount>] [key=value ...]`, as `vault login`: the token
 * method checks a given (or prompted) token; the other methods post their key=value pairs to
 * `auth/<path>/login...` and keep the token the server answers. Methods are declared as data below.
 */
import type { Command } from 'commander';
import { chmodSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { cliContext, parseKeyValues, printResponse } from '../context';
import { print, printJson } from '../output';
import { promptHidden } from '../prompt';

export interface LoginMethod {
  /** Where the login is posted, under `auth/<mount path>/`. */
  loginPath(values: Record<string, unknown>): string;
  /** The request body; may prompt for what is missing (a password). */
  body(values: Record<string, unknown>): Promise<Record<string, unknown>>;
}

/** Non-token login methods by name (`-method=`); the mount path defaults to the name. */
export const LOGIN_METHODS: Record<string, LoginMethod> = {
  userpass: {
    loginPath(values) {
      const username = values.username;
      if (typeof username !== 'string' || username === '') throw new Error('userpass login needs username=<name>');
      return `login/${encodeURIComponent(username)}`;
    },
    async body(values) {
      const password = typeof values.password === 'string' ? values.password : await promptHidden('Password (will be hidden): ');
      return { password };
    },
  },
  /** `secrethub login -method=approle role_id=... [secret_id=...]` (secret_id only when the role binds one). */
  approle: {
    loginPath: () => 'login',
    async body(values) {
      if (typeof values.role_id !== 'string' || values.role_id === '') throw new Error('role_id=... is required for -method=approle');
      return values.secret_id === undefined ? { role_id: values.role_id } : { role_id: values.role_id, secret_id: values.secret_id };
    },
  },
  /** `secrethub login -method=cert -client-cert=<pem> -client-key=<pem> [name=<entry>]`: the certificate is the TLS connection's. */
  cert: {
    loginPath: () => 'login',
    async body(values) {
      return typeof values.name === 'string' && values.name !== '' ? { name: values.name } : {};
    },
  },
};

function keepToken(token: string): void {
  const file = join(homedir(), '.secrethub-token');
  writeFileSync(file, token, { mode: 0o600 });
  chmodSync(file, 0o600);
}

const STORED = 'Success! You are now authenticated. The token is stored in ~/.secrethub-token.\n';

export function registerLoginCommand(program: Command): void {
  program
    .command('login')
    .description('Log in (token by default; -method=<name> key=value... for other auth methods) and keep the token in ~/.secrethub-token')
    .argument('[args...]', 'a token (token method), or key=value pairs')
    .option('--method <name>', 'auth method', 'token')
    .option('--path <mount>', 'mount path of the auth method (default: the method name)')
    .option('--no-store', 'print the token without keeping it')
    .action(async (args: string[], opts: { method: string; path?: string; store: boolean }, cmd: Command) => {
      const { client, format } = cliContext(cmd);
      if (opts.method === 'token') {
        const value = args[0] ?? (await promptHidden('Token (will be hidden): '));
        const res = await client.withToken(value).request('GET', 'auth/token/lookup-self');
        if (opts.store) keepToken(value);
        const d = (res.body?.data ?? {}) as Record<string, unknown>;
        if (format === 'json') return printJson(res.body);
        if (opts.store) print(STORED);
        return printResponse('table', {
          auth: {
            client_token: value,
            accessor: d.accessor,
            lease_duration: d.ttl,
            renewable: d.renewable,
            token_policies: d.policies,
            policies: d.policies,
            metadata: d.meta,
          },
        });
      }
      const method = LOGIN_METHODS[opts.method];
      if (!method)
        throw new Error(
          `unknown login method "${opts.method}" (known: token${Object.keys(LOGIN_METHODS)
            .map((m) => `, ${m}`)
            .join('')})`,
        );
      const values = parseKeyValues(args);
      const mount = (opts.path ?? opts.method).replace(/^\/+|\/+$/g, '');
      const res = await client.request('PUT', `auth/${mount}/${method.loginPath(values)}`, await method.body(values));
      const token = (res.body?.auth as Record<string, unknown> | undefined)?.client_token;
      if (typeof token !== 'string') throw new Error('the server answered without a token');
      if (opts.store) keepToken(token);
      if (format === 'json') return printJson(res.body);
      if (opts.store) print(STORED);
      printResponse('table', res.body);
    });
}
