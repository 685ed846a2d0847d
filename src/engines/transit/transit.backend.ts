/** The `transit` secrets engine type (Vault's): encryption as a service with named keys that never leave the server. */
import type { BackendDefinition } from '../../framework/backend';
import type { TransitDeps } from './transit-common';
import { transitBackupPaths } from './transit-backup.paths';
import { transitEncryptPaths } from './transit-encrypt.paths';
import { transitKeyPaths } from './transit-keys.paths';
import { transitLifecyclePaths } from './transit-lifecycle.paths';
import { transitOpsPaths } from './transit-ops.paths';
import { transitSignPaths } from './transit-sign.paths';

export function transitBackend(deps: TransitDeps): BackendDefinition {
  const routes = [
    ...transitKeyPaths(deps),
    ...transitEncryptPaths(deps),
    ...transitOpsPaths(deps),
    ...transitBackupPaths(deps),
    ...transitLifecyclePaths(deps),
    ...transitSignPaths(deps),
  ];
  return { type: 'transit', class: 'secret', description: 'encryption as a service (Vault transit)', routes: () => routes };
}
