/** The `transit` secrets engine type (Vault's): encryption as a service with named keys that never leave the server. */
import type { BackendDefinition } from '../../framework/backend';
import { transitPaths } from './transit.paths';
import type { TransitRepository } from './transit.repository';

export function transitBackend(repository: TransitRepository): BackendDefinition {
  const routes = transitPaths(repository);
  return { type: 'transit', class: 'secret', description: 'encryption as a service (Vault transit)', routes: () => routes };
}
