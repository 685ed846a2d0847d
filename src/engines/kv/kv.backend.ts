/** The `kv` secrets engine type: version 1 (default) or 2 by `options.version` (`kv-v1` / `kv-v2` set it). */
import type { BackendDefinition } from '../../framework/backend';
import type { Barrier } from '../../kernel/barrier/barrier';
import { badRequest } from '../../kernel/errors';
import { kvV1Paths } from './kv-v1.paths';
import type { KvRepository } from './kv.repository';

export function kvBackend(repository: KvRepository, barrier: Barrier): BackendDefinition {
  const v1 = kvV1Paths(repository, barrier);
  return {
    type: 'kv',
    class: 'secret',
    routes: () => v1,
    normaliseOptions(options, previous) {
      const version = options.version ?? '1';
      if (version !== '1') throw badRequest(`KV version ${JSON.stringify(version)} is not supported yet; use version 1`);
      if (previous && (previous.version ?? '1') !== version) throw badRequest('changing the KV version of a mount is not supported');
      return options;
    },
  };
}
