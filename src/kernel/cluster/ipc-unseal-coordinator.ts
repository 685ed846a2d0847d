/**
 * A worker's UnsealCoordinator: the node's progress lives in the parent (node-unseal-state.ts), asked
 * over the worker's IPC channel; the parent's commands (unseal with the node's key, seal) run on
 * this worker's SealService. Keys and shares cross only this channel, base64-encoded.
 */
import { zero } from '../../crypto/hmac';
import type { NodeSealCommands, ShareOutcome, UnsealCoordinator } from '../seal/unseal-coordinator';
import type { ProgressView } from '../seal/unseal-progress';
import { isNodeMessage, NODE_MESSAGE_TAG, type JoinReply, type NodeMessage, type WireOutcome, type WorkerRequest } from './node-messages';

/** The worker's end of the IPC channel (`process` in a cluster worker). */
export interface WorkerChannel {
  send?(message: NodeMessage): unknown;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

export class IpcUnsealCoordinator implements UnsealCoordinator {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: NodeMessage & { type: 'reply' }) => void }>();
  private commands: NodeSealCommands | undefined;
  private readonly listener = (message: unknown) => this.receive(message);

  constructor(
    private readonly channel: WorkerChannel,
    private readonly log: (message: string) => void,
  ) {
    channel.on('message', this.listener);
  }

  async submit(share: Buffer, threshold: number): Promise<ShareOutcome> {
    const encoded = share.toString('base64');
    zero(share);
    const outcome = (await this.request({ op: 'submit', share: encoded, threshold })) as WireOutcome;
    if (outcome.kind !== 'threshold') return outcome;
    return { kind: 'threshold', shares: outcome.shares.map((s) => Buffer.from(s, 'base64')) };
  }

  async reset(): Promise<void> {
    await this.request({ op: 'reset' });
  }

  async progress(): Promise<ProgressView> {
    return (await this.request({ op: 'progress' })) as ProgressView;
  }

  async failed(): Promise<void> {
    await this.request({ op: 'failed' });
  }

  async unsealed(key: Buffer): Promise<void> {
    await this.request({ op: 'unsealed', key: key.toString('base64') });
  }

  async sealed(): Promise<void> {
    await this.request({ op: 'sealed' });
  }

  async attach(commands: NodeSealCommands): Promise<void> {
    this.commands = commands;
    const { key } = (await this.request({ op: 'join' })) as JoinReply;
    if (key === undefined) return;
    const nodeKey = Buffer.from(key, 'base64');
    try {
      await commands.unseal(nodeKey);
    } catch (err) {
      this.log(`seal: could not unseal with the node's key: ${(err as Error).message}`);
    } finally {
      zero(nodeKey);
    }
  }

  detach(): void {
    this.commands = undefined;
  }

  private request(request: WorkerRequest): Promise<WireOutcome | ProgressView | JoinReply | undefined> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, {
        resolve: (reply) => (reply.error === undefined ? resolve(reply.outcome) : reject(new Error(reply.error))),
      });
      if (!this.post({ tag: NODE_MESSAGE_TAG, type: 'request', id, request })) {
        this.pending.delete(id);
        reject(new Error('the node parent is gone'));
      }
    });
  }

  private post(message: NodeMessage): boolean {
    if (!this.channel.send) return false;
    try {
      this.channel.send(message);
      return true;
    } catch {
      return false;
    }
  }

  private receive(message: unknown): void {
    if (!isNodeMessage(message)) return;
    if (message.type === 'reply') {
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      waiter?.resolve(message);
    } else if (message.type === 'command') {
      void this.run(message);
    }
  }

  private async run(message: NodeMessage & { type: 'command' }): Promise<void> {
    let error: string | undefined;
    const key = message.key === undefined ? undefined : Buffer.from(message.key, 'base64');
    try {
      if (!this.commands) throw new Error('not serving');
      if (message.command === 'seal') await this.commands.seal();
      else if (key) await this.commands.unseal(key);
    } catch (err) {
      error = (err as Error).message;
      this.log(`seal: the node's ${message.command} failed on this worker: ${error}`);
    } finally {
      zero(key);
    }
    this.post({ tag: NODE_MESSAGE_TAG, type: 'done', id: message.id, error });
  }
}
