/** The `kv` secrets engine type: version 1 (default) or 2 by `options.version` (`kv-v1` / `kv-v2` set it). */
import type { BackendDefinition } from '../../framework/backend';
import { badRequest } from '../../kernel/errors';
import { kvV1Paths } from './kv-v1.paths';
import { kvV2Paths } from './kv-v2.paths';
import type { KvV2Repository } from './kv-v2.repository';
import type { KvRepository } from './kv.repository';

export function kvBackend(repository: KvRepository, v2Repository: KvV2Repository): BackendDefinition {
  const v1 = kvV1Paths(repository);
  const v2 = kvV2Paths(repository, v2Repository);
  return {
    type: 'kv',
    class: 'secret',
    routes: (mount) => (mount.options.version === '2' ? v2 : v1),
    normaliseOptions(options, previous) {
      const version = options.version ?? '1';
      if (version !== '1' && version !== '2') throw badRequest(`invalid KV version ${JSON.stringify(version)}: use 1 or 2`);
      if (previous && (previous.version ?? '1') !== version)
        throw badRequest('changing the KV version of a mount is not supported: enable a new mount and copy the secrets');
      return options;
    },
  };
}
