/**
 * Starting and stopping the server: the database opens first (a failed start stops it again),
 * then the Nest application of ServerModule starts and listens. Stopping closes the listener
 * (in-flight requests finish), seals, stops the cluster bus, then closes the database and the
 * embedded PostgreSQL (Nest's shutdown hooks, dependents first).
 */
import { Module, type DynamicModule } from '@nestjs/common';
import type { ServerConfig } from './config/config';
import { CoreModule, kernelOf, type Kernel } from './core.module';
import { openServerDatabase, type DatabaseHandle } from './database/database.module';
import { ALL_ENTITIES } from './entities';
import { createApiServer } from './http/http-server';
import { HttpModule } from './http/http.module';
import { isNodeWorker, nodeIdentity } from './kernel/cluster/node-identity';
import type { Logger } from './logger';

@Module({})
export class ServerModule {
  static forRoot(config: ServerConfig, log: Logger, database: DatabaseHandle): DynamicModule {
    return { module: ServerModule, imports: [CoreModule.forRoot(config, log, database), HttpModule] };
  }
}

export interface RunningServer {
  address: string;
  kernel: Kernel;
  /** Dev mode only: the unseal key and root token. */
  dev?: { unsealKey: string; rootToken: string };
  stop(): Promise<void>;
}

export async function startServer(config: ServerConfig, log: Logger): Promise<RunningServer> {
  const database = await openServerDatabase(config, ALL_ENTITIES, log);
  let http: Awaited<ReturnType<typeof createApiServer>>;
  try {
    http = await createApiServer(ServerModule.forRoot(config, log, database), config.listener, log);
  } catch (err) {
    await database.close();
    throw err;
  }
  try {
    const kernel = kernelOf(http.app);
    const { workerId } = nodeIdentity();
    // Which worker of a multi-worker node answered (operators and tests tell them apart by it).
    if (isNodeWorker())
      http.app
        .getHttpAdapter()
        .getInstance()
        .addHook('onSend', (_request, reply, payload, done) => {
          reply.header('x-secrethub-worker', String(workerId));
          done(null, payload);
        });
    let dev: RunningServer['dev'];
    // In a multi-worker node worker 1 initialises; the node's unseal reaches every worker.
    if (config.dev && workerId === 1 && !(await kernel.seal.isInitialized())) {
      const init = await kernel.seal.initialize({ secretShares: 1, secretThreshold: 1, rootTokenId: config.devRootTokenId });
      const unsealKey = init.keys[0].toString('base64');
      await kernel.seal.submitUnsealKey(unsealKey, false);
      dev = { unsealKey, rootToken: init.rootToken };
      // As Vault's dev mode: KV version 2 at secret/.
      await kernel.mounts.enable({ class: 'secret', path: 'secret', type: 'kv', options: { version: '2' }, description: 'key/value secret storage' });
    }
    const address = await http.listen();
    log.info(`listening on ${address}`);
    return { address, kernel, dev, stop: () => http.close() };
  } catch (err) {
    await http.close().catch((e: Error) => log.error(`stop: ${e.message}`));
    throw err;
  }
}
