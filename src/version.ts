/** Version strings reported on the wire. Vault clients compare `version` as semver, so it names the
 *  Vault API level we implement, with SecretHub's own version as build metadata. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version as string;
  }
}

export const SECRETHUB_VERSION = packageVersion();
export const VAULT_API_VERSION = '1.17.0';
export const REPORTED_VERSION = `${VAULT_API_VERSION}+secrethub.${SECRETHUB_VERSION}`;
export const BUILD_DATE = '2026-11-22T00:00:00Z';
