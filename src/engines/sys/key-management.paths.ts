/**
 * sys/key-management/summary (issue 29, SecretHub's own): the health summary of every key the
 * engines hold (today transit's), from each engine's one query.
 */
import { logical, route, type RouteDefinition } from '../../framework/route';
import type { KeyInventory } from '../../kernel/key-management/key-health';

export function keyManagementPaths(inventory: KeyInventory): RouteDefinition[] {
  return [
    route({
      path: 'key-management/summary',
      fields: {},
      help: 'SecretHub: keys by type and health, rotations due in 7 days, overdue keys, usage near limits, failed rotations, unreachable HSM keys, a 0–100 score with its reasons.',
      pureOperations: ['read'],
      handlers: { read: async () => logical(await inventory.summary()) },
    }),
  ];
}
