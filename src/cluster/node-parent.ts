/**
 * The parent of a multi-worker node (`secrethub server --workers N`, decision 127). It builds no
 * Nest application: it starts the embedded PostgreSQL when there is no DATABASE_URL, forks the
 * workers (node:cluster: they share the listening socket), keeps the node's unseal state
 * (NodeUnsealState) and answers the workers' requests over IPC, replaces a dead worker (with
 * RestartBackoff), and on SIGTERM/SIGINT has every worker drain, then exits.
 *
 * Invariants: a worker gets the node's commands only once it joined; a worker that starts
 * while the node is unsealed is unsealed at once; a worker exits by itself when this process is
 * gone (Node's cluster worker exits on an unexpected IPC disconnect).
 */
import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zero } from '../crypto/hmac';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../database/embedded-postgres';
import { NODE_ID_ENV, WORKER_ID_ENV } from '../kernel/cluster/node-identity';
import { isNodeMessage, NODE_MESSAGE_TAG, type JoinReply, type NodeMessage, type WireOutcome, type WorkerRequest } from '../kernel/cluster/node-messages';
import { NodeUnsealState } from '../kernel/cluster/node-unseal-state';
import type { ProgressView } from '../kernel/seal/unseal-progress';
import type { Logger } from '../logger';
import { RestartBackoff } from './restart-backoff';

/** How long the node waits for a worker to carry out an unseal or seal command. */
const COMMAND_TIMEOUT_MS = 30_000;

export interface NodeParentOptions {
  workers: number;
  databaseUrl?: string;
  dataDir: string;
  dev: boolean;
  /** More environment for the workers (the dev TLS files). */
  workerEnv?: Record<string, string>;
  log: Logger;
}

interface Slot {
  id: number;
  worker?: Worker;
  joined: boolean;
  startedAt: number;
  backoff: RestartBackoff;
  restart?: NodeJS.Timeout;
}

/** Runs the node until a signal stops it; resolves with the exit code. */
export async function runNodeParent(options: NodeParentOptions): Promise<number> {
  const { log } = options;
  const nodeId = process.env[NODE_ID_ENV] || randomUUID();
  let devDir: string | undefined;
  let embedded: EmbeddedPostgresHandle | undefined;
  let url = options.databaseUrl;
  const slots = new Map<number, Slot>();
  const acks = new Map<number, { slot: number; done: () => void }>();
  let nextCommandId = 1;
  let stopping = false;
  let listened = false;
  let exitCode = 0;
  let finished: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finished = resolve));

  const send = (slot: Slot, message: NodeMessage) => {
    try {
      slot.worker?.send(message);
    } catch {
      // The worker is gone; its exit handler cleans up.
    }
  };

  /** Sends a command to every worker that joined; resolves when each answered, exited or timed out. */
  const commandAll = (command: 'unseal' | 'seal', key?: Buffer): Promise<void> => {
    const encoded = key?.toString('base64');
    const sent = [...slots.values()]
      .filter((s) => s.joined && s.worker)
      .map(
        (s) =>
          new Promise<void>((resolve) => {
            const id = nextCommandId++;
            const timer = setTimeout(() => finish(), COMMAND_TIMEOUT_MS);
            const finish = () => {
              clearTimeout(timer);
              acks.delete(id);
              resolve();
            };
            acks.set(id, { slot: s.id, done: finish });
            send(s, { tag: NODE_MESSAGE_TAG, type: 'command', id, command, ...(encoded ? { key: encoded } : {}) });
          }),
      );
    return Promise.all(sent).then(() => undefined);
  };
  const state = new NodeUnsealState({ unsealAll: (key) => commandAll('unseal', key), sealAll: () => commandAll('seal') });

  const answer = async (slot: Slot, request: WorkerRequest): Promise<WireOutcome | ProgressView | JoinReply | undefined> => {
    switch (request.op) {
      case 'join': {
        slot.joined = true;
        // A worker that starts while the node is unsealed is unsealed at once.
        const key = state.unsealKey;
        return key ? { key: key.toString('base64') } : {};
      }
      case 'submit': {
        const outcome = await state.submit(slot.id, Buffer.from(request.share, 'base64'), request.threshold);
        if (outcome.kind !== 'threshold') return outcome;
        const shares = outcome.shares.map((s) => s.toString('base64'));
        zero(...outcome.shares);
        return { kind: 'threshold', shares };
      }
      case 'reset':
        state.reset();
        return undefined;
      case 'progress':
        return state.view();
      case 'failed':
        state.combinerDone(slot.id);
        return undefined;
      case 'unsealed':
        await state.unsealed(slot.id, Buffer.from(request.key, 'base64'));
        return undefined;
      case 'sealed':
        await state.sealed();
        return undefined;
    }
  };

  const receive = (slot: Slot, message: unknown) => {
    if (!isNodeMessage(message)) return;
    if (message.type === 'request') {
      const { id } = message;
      answer(slot, message.request).then(
        (outcome) => send(slot, { tag: NODE_MESSAGE_TAG, type: 'reply', id, outcome }),
        (err: Error) => send(slot, { tag: NODE_MESSAGE_TAG, type: 'reply', id, error: err.message }),
      );
    } else if (message.type === 'done') {
      acks.get(message.id)?.done();
    }
  };

  const fork = (slot: Slot) => {
    slot.restart = undefined;
    slot.joined = false;
    slot.startedAt = Date.now();
    const worker = cluster.fork({ ...options.workerEnv, DATABASE_URL: url, [NODE_ID_ENV]: nodeId, [WORKER_ID_ENV]: String(slot.id) });
    slot.worker = worker;
    worker.on('message', (message: unknown) => receive(slot, message));
    worker.on('listening', () => (listened = true));
    // A send to a worker that just died fails here; its exit is handled below.
    worker.on('error', (err: Error) => log.warn(`node: worker ${slot.id}: ${err.message}`));
    worker.on('exit', (code, signal) => exited(slot, worker, code, signal));
    log.info(`node: worker ${slot.id} started (pid ${worker.process.pid})`);
  };

  const exited = (slot: Slot, worker: Worker, code: number | null, signal: string | null) => {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    slot.joined = false;
    for (const ack of [...acks.values()]) if (ack.slot === slot.id) ack.done();
    state.combinerDone(slot.id);
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (stopping) {
      if (code !== 0) exitCode = 1;
      log.info(`node: worker ${slot.id} stopped (${how})`);
      if ([...slots.values()].every((s) => !s.worker)) finished(exitCode);
      return;
    }
    if (!listened) {
      log.error(`node: worker ${slot.id} exited (${how}) before the node listened; stopping`);
      exitCode = 1;
      stop();
      return;
    }
    const delay = slot.backoff.exited(Date.now() - slot.startedAt);
    log.warn(`node: worker ${slot.id} exited (${how}); replacing it${delay ? ` in ${delay / 1000} s` : ''}`);
    slot.restart = setTimeout(() => fork(slot), delay);
  };

  const stop = (signal?: string) => {
    if (stopping) return;
    stopping = true;
    if (signal) log.info(`${signal}: stopping every worker (finishing in-flight requests, sealing)`);
    for (const slot of slots.values()) {
      if (slot.restart) clearTimeout(slot.restart);
      slot.worker?.process.kill('SIGTERM');
    }
    if ([...slots.values()].every((s) => !s.worker)) finished(exitCode);
  };

  // From the first moment: a signal during the database's start stops the node once it is up.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // As Vault: SIGHUP reopens the audit files, in every worker.
  process.on('SIGHUP', () => {
    for (const slot of slots.values()) slot.worker?.process.kill('SIGHUP');
  });

  try {
    if (!url) {
      const dataDir = options.dev ? (devDir = mkdtempSync(join(tmpdir(), 'secrethub-dev-'))) : options.dataDir;
      embedded = await startEmbeddedPostgres(dataDir, (m) => log.info(m));
      url = embedded.url;
    }
    if (!stopping) {
      log.info(`node ${nodeId}: starting ${options.workers} workers`);
      for (let id = 1; id <= options.workers; id++) {
        const slot: Slot = { id, joined: false, startedAt: 0, backoff: new RestartBackoff() };
        slots.set(id, slot);
        fork(slot);
      }
    }
    return await done;
  } finally {
    state.forget();
    await embedded?.stop().catch((e: Error) => log.error(`stop: embedded PostgreSQL: ${e.message}`));
    if (devDir) {
      embedded?.removeData();
      rmSync(devDir, { recursive: true, force: true });
    }
  }
}
