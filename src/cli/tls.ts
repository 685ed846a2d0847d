/**
 * The CLI's TLS settings, as Vault's CLI reads them: each one from its flag, else SECRETHUB_<NAME>,
 * else VAULT_<NAME> (CACERT, CAPATH, CLIENT_CERT, CLIENT_KEY, SKIP_VERIFY, TLS_SERVER_NAME).
 *
 * - A CA file (-ca-cert) wins over a CA directory (-ca-path); either replaces the system CAs.
 * - A CA directory is read whole, subdirectories included; every file in it must hold PEM
 *   certificates (as Vault's go-rootcerts).
 * - A client certificate needs its key and the other way round.
 * Errors name the setting and the path, never a file's contents.
 */
import { createPrivateKey } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentOptions } from 'node:https';

export interface TlsFlags {
  caCert?: string;
  caPath?: string;
  clientCert?: string;
  clientKey?: string;
  /** Undefined when the flag was not given (the environment decides); `-tls-skip-verify=false` gives false. */
  tlsSkipVerify?: boolean;
  tlsServerName?: string;
}

/** What the https agent is built with; `rejectUnauthorized` false only with -tls-skip-verify. */
export type ClientTlsOptions = Pick<AgentOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g;

/** Go's strconv.ParseBool, which Vault applies to VAULT_SKIP_VERIFY. */
const GO_TRUE = ['1', 't', 'T', 'TRUE', 'true', 'True'];
const GO_FALSE = ['0', 'f', 'F', 'FALSE', 'false', 'False'];

function fromEnv(env: NodeJS.ProcessEnv, name: string): string | undefined {
  return env[`SECRETHUB_${name}`] || env[`VAULT_${name}`] || undefined;
}

function readSetting(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${setting}: cannot read ${path}${code ? ` (${code})` : ''}`, { cause: err });
  }
}

function pemCertificates(setting: string, path: string): string[] {
  const pems = readSetting(setting, path).toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (pems.length === 0) throw new Error(`${setting}: ${path} holds no PEM certificate`);
  return pems;
}

function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch (err) {
    throw new Error(`-ca-path: cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
  }
  return names
    .map((name) => join(dir, name))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile())
    .sort();
}

function skipVerify(flag: boolean | undefined, env: NodeJS.ProcessEnv): boolean {
  if (flag !== undefined) return flag;
  const raw = fromEnv(env, 'SKIP_VERIFY');
  if (raw === undefined) return false;
  if (GO_TRUE.includes(raw)) return true;
  if (GO_FALSE.includes(raw)) return false;
  throw new Error('could not parse VAULT_SKIP_VERIFY');
}

export function resolveClientTls(flags: TlsFlags, env: NodeJS.ProcessEnv = process.env): ClientTlsOptions {
  const out: ClientTlsOptions = {};
  const caCert = flags.caCert || fromEnv(env, 'CACERT');
  const caPath = flags.caPath || fromEnv(env, 'CAPATH');
  if (caCert) out.ca = pemCertificates('-ca-cert', caCert);
  else if (caPath) {
    const ca = filesUnder(caPath).flatMap((file) => pemCertificates('-ca-path', file));
    if (ca.length === 0) throw new Error(`-ca-path: ${caPath} holds no PEM certificate`);
    out.ca = ca;
  }
  const clientCert = flags.clientCert || fromEnv(env, 'CLIENT_CERT');
  const clientKey = flags.clientKey || fromEnv(env, 'CLIENT_KEY');
  if (!!clientCert !== !!clientKey) throw new Error('both a client certificate (-client-cert) and its key (-client-key) must be given');
  if (clientCert && clientKey) {
    out.cert = pemCertificates('-client-cert', clientCert).join('\n');
    const key = readSetting('-client-key', clientKey);
    try {
      createPrivateKey(key);
    } catch {
      throw new Error(`-client-key: ${clientKey} holds no usable PEM private key (encrypted keys are not supported)`);
    }
    out.key = key;
  }
  if (skipVerify(flags.tlsSkipVerify, env)) out.rejectUnauthorized = false;
  const serverName = flags.tlsServerName || fromEnv(env, 'TLS_SERVER_NAME');
  if (serverName) out.servername = serverName;
  return out;
}
