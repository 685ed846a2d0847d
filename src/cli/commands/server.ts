/** `secrethub server` and `secrethub migrate`. */
import type { Command } from 'commander';
import cluster from 'node:cluster';
import { rmSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import type { ServerFlags } from '../../config/config';
import type { DevTlsFiles } from '../../config/dev-tls';
import { parseFormat, print, printJson } from '../output';

// The server's modules (NestJS, TypeORM, the HCL parser) load only when a server command runs:
// they take most of a second, which every client command would otherwise pay.
/* eslint-disable @typescript-eslint/no-require-imports */
const serverModules = async () => ({
  ...(require('../../config/config') as typeof import('../../config/config')),
  ...(require('../../config/dev-tls') as typeof import('../../config/dev-tls')),
  ...(require('../../database/data-source') as typeof import('../../database/data-source')),
  ...(require('../../database/embedded-postgres') as typeof import('../../database/embedded-postgres')),
  ...(require('../../logger') as typeof import('../../logger')),
  ...(require('../../server') as typeof import('../../server')),
  ...(require('../../cluster/node-parent') as typeof import('../../cluster/node-parent')),
});
/* eslint-enable @typescript-eslint/no-require-imports */

/** A node's parent gives its workers the dev TLS files it wrote (JSON of DevTlsFiles). */
const DEV_TLS_ENV = 'SECRETHUB_DEV_TLS_FILES';

export function registerServerCommands(program: Command): void {
  program
    .command('server')
    .description('Run the SecretHub server')
    .option('--config <file>', 'configuration file (HCL or JSON)')
    .option('--data-dir <dir>', 'data directory for the embedded PostgreSQL (default ./data, env SECRETHUB_DATA_DIR)')
    .option('--listen <host:port>', 'listener address (default 127.0.0.1:8200)')
    .option('--workers <count>', 'serving processes sharing the listener: a count or "auto" (the usable CPUs); default 1 (env SECRETHUB_WORKERS)')
    .option('--dev', 'development mode: throw-away database, initialised and unsealed, root token printed')
    .option('--dev-root-token-id <token>', 'with --dev: use this root token id')
    .option('--dev-tls', 'development mode over HTTPS: a throw-away CA and server certificate (vault-ca.pem for clients)')
    .option(
      '--dev-tls-cert-dir <dir>',
      'with --dev-tls: write vault-ca.pem, vault-cert.pem and vault-key.pem here and keep them (default: a temporary directory, removed at exit)',
    )
    .action(async (opts: ServerFlags & { devTls?: boolean; devTlsCertDir?: string }) => {
      // The old generation may grow to 2x what survived the last full collection, not V8's adaptive
      // factor (up to 4x): under load the server kept ~45 MB live but grew to ~150 MB between
      // collections. No cap: a heap that really needs more still grows (decision 82).
      setFlagsFromString('--heap-growing-percent=100');
      const { loadConfig, createLogger, startServer, writeDevTlsFiles, runNodeParent } = await serverModules();
      const flags: ServerFlags = {
        config: opts.config,
        dataDir: opts.dataDir,
        listen: opts.listen,
        dev: opts.dev || opts.devTls,
        devRootTokenId: opts.devRootTokenId,
        workers: opts.workers,
      };
      // A node's workers serve the dev TLS files their parent wrote (and removes at exit).
      const parentDevTls = cluster.isWorker ? process.env[DEV_TLS_ENV] : undefined;
      const devTls = parentDevTls
        ? (JSON.parse(parentDevTls) as DevTlsFiles)
        : opts.devTls
          ? await writeDevTlsFiles(opts.devTlsCertDir, loadConfig(flags).listener.host)
          : undefined;
      const removeDevTls = () => {
        if (devTls?.temporary) rmSync(devTls.dir, { recursive: true, force: true });
      };
      process.on('exit', removeDevTls);
      const config = loadConfig({ ...flags, devTlsFiles: devTls });
      const log = createLogger(config.logLevel, undefined, cluster.isWorker ? `worker ${process.env.SECRETHUB_WORKER_ID}: ` : '');
      if (cluster.isPrimary && config.workers > 1) {
        const workerEnv: Record<string, string> = devTls ? { [DEV_TLS_ENV]: JSON.stringify({ ...devTls, temporary: false }) } : {};
        const code = await runNodeParent({ ...config, workerEnv, log });
        process.exit(code);
      }
      // Signals are handled from the first moment: one that arrives during start-up stops the
      // server as soon as it is up, instead of killing it with the database half started.
      const stopping: { stop?: (signal: string) => void; early?: string } = {};
      const onSignal = (signal: string) => (stopping.stop ? stopping.stop(signal) : (stopping.early ??= signal));
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      process.on('SIGINT', () => onSignal('SIGINT'));
      const server = await startServer(config, log).catch((err: Error) => {
        // A worker's IPC channel would keep it alive after a failed start: it exits, and its parent decides.
        if (!cluster.isWorker) throw err;
        log.error(`start failed: ${err.message}`);
        process.exit(1);
      });
      if (server.dev) {
        print(
          [
            'WARNING! Dev mode: everything is in memory of a throw-away database, initialised and unsealed.',
            '',
            `    export VAULT_ADDR='${server.address}'`,
            ...(devTls ? [`    export VAULT_CACERT='${devTls.caFile}'`] : []),
            // The CLI reads SECRETHUB_* before VAULT_*: a stale SECRETHUB_ADDR would hide VAULT_ADDR.
            `    export SECRETHUB_ADDR='${server.address}'`,
            ...(devTls ? [`    export SECRETHUB_CACERT='${devTls.caFile}'`] : []),
            '',
            `Unseal Key: ${server.dev.unsealKey}`,
            `Root Token: ${server.dev.rootToken}`,
            '',
            'Development mode should NOT be used in production.',
          ].join('\n'),
        );
      }
      let stopped = false;
      stopping.stop = (signal: string) => {
        if (stopped) return;
        stopped = true;
        log.info(`${signal}: stopping (finishing in-flight requests, sealing, stopping the database)`);
        server.stop().then(
          () => process.exit(0),
          (err: Error) => {
            log.error(`stop failed: ${err.message}`);
            process.exit(1);
          },
        );
      };
      if (stopping.early) stopping.stop(stopping.early);
      // As Vault: SIGHUP reopens the audit files (log rotation).
      process.on('SIGHUP', () => void server.kernel.audit.broker.reopen().catch((err: Error) => log.error(`SIGHUP: audit reopen failed: ${err.message}`)));
    });

  program
    .command('migrate')
    .description('Apply pending database migrations and exit')
    .option('--config <file>', 'configuration file (HCL or JSON)')
    .option('--data-dir <dir>', 'data directory for the embedded PostgreSQL')
    .action(async (opts: ServerFlags, cmd: Command) => {
      const { loadConfig, createLogger, startEmbeddedPostgres, openDatabase } = await serverModules();
      const format = parseFormat((cmd.optsWithGlobals() as { format?: string }).format);
      const config = loadConfig(opts);
      const log = createLogger(config.logLevel);
      const embedded = config.databaseUrl ? undefined : await startEmbeddedPostgres(config.dataDir, (m) => log.info(m));
      try {
        const { dataSource, applied } = await openDatabase(config.databaseUrl ?? (embedded?.url as string), {
          connections: { sessionUrl: config.haDatabaseUrl },
        });
        await dataSource.destroy();
        if (format === 'json') printJson({ applied });
        else print(applied.length ? applied.map((n) => `applied ${n}`).join('\n') : 'Schema is up to date.');
      } finally {
        await embedded?.stop();
      }
    });
}
