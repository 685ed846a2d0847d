/**
 * The audit broker: the enabled devices, and the fail-closed rule the request pipeline relies on.
 *
 * Invariants:
 * - with at least one device enabled, `logRequest`/`logResponse` resolve only if at least one
 *   device committed its entry and every required device did (`isRequired`: the database device
 *   unless `required=false`), and throw `AuditFailure` otherwise (the pipeline answers 500 and
 *   sends nothing of the handler's result);
 * - with no device enabled, requests are not audited (Vault's behaviour);
 * - each device hashes with its own salt, created at enable time and kept in the barrier; a device
 *   re-enabled at the same path gets a new salt;
 * - device failures are logged with the device path and the error message only.
 */
import { randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Writable } from 'node:stream';
import { randomKey } from '../crypto/random';
import { zero } from '../crypto/hmac';
import { newSigningKey, signingKeyFromDer } from '../crypto/audit-chain';
import type { InvalidationBus } from '../kernel/cluster/invalidation-bus';
import { ApiError, badRequest } from '../kernel/errors';
import type { KernelSecretsRepository } from '../kernel/kernel-secrets.repository';
import type { AuditAddressKeys } from './address-keys';
import type { AuditChainWriter } from './chain-writer';
import type { AuditDeviceRepository, AuditDeviceRow } from './audit-device.repository';
import { DatabaseAuditDevice, elidesListResponses, FileAuditDevice, isRequired, UnavailableAuditDevice, type AuditDevice } from './audit-devices';
import type { AuditOutcome, AuditTrace } from './audit-entry';
import type { AuditRenderer } from './audit-renderer';
import type { RenderedTarget, RenderJob, RequestBlocks } from './entry-render';
import { saltedHasher, type Hasher } from './redaction';

export const AUDIT_SIGNING_KEY_NAME = 'audit_signing_key';
export const AUDIT_DEVICE_TYPES = ['file', 'database'] as const;

export class AuditFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditFailure';
  }
}

interface LoadedDevice {
  row: AuditDeviceRow;
  salt: Buffer;
  hash: Hasher;
  device: AuditDevice;
}

export interface EnableSpec {
  type: string;
  description: string;
  options: Record<string, string>;
  local: boolean;
}

export interface AuditBrokerDeps {
  devices: AuditDeviceRepository;
  secrets: KernelSecretsRepository;
  chain: AuditChainWriter;
  addressKeys: AuditAddressKeys;
  renderer: AuditRenderer;
  fileDir: string;
  /** Where `file` devices with `file_path=stdout` write: process.stdout in production. */
  stdout: Writable;
  bus?: InvalidationBus;
  log: { info(m: string): void; error(m: string): void };
}

export class AuditBroker {
  private loaded = new Map<string, LoadedDevice>();
  /** A logged request entry's blocks, kept for its response entry to repeat (a trace's response is logged after its request). */
  private readonly requestBlocks = new WeakMap<AuditTrace, RequestBlocks[]>();
  private active = false;
  private reloading: Promise<void> = Promise.resolve();

  constructor(private readonly deps: AuditBrokerDeps) {
    deps.bus?.subscribe((i) => {
      if (this.active && (i.topic === undefined || i.topic === 'audit'))
        this.reloading = this.reloading.then(() => this.reload()).catch((e: Error) => deps.log.error(`audit: reload failed: ${e.message}`));
    });
  }

  /** True when requests must be audited. */
  get enabled(): boolean {
    return this.loaded.size > 0;
  }

  /** After unseal: the signing key (created once), the chain, then the devices. */
  async start(): Promise<void> {
    // Another node may create it at the same moment: the stored one wins.
    const der = await this.deps.secrets.getOrCreate(AUDIT_SIGNING_KEY_NAME, newSigningKey);
    let key: KeyObject;
    try {
      key = signingKeyFromDer(der);
    } finally {
      zero(der);
    }
    await this.deps.chain.start(key);
    this.active = true;
    // Behind any reload already queued (a bus notification): two reloads never overlap, so a device
    // is opened (and a failure to open it logged) once.
    const loaded = this.reloading.then(() => this.reload());
    this.reloading = loaded.catch(() => undefined);
    await loaded;
  }

  async stop(): Promise<void> {
    this.active = false;
    const devices = [...this.loaded.values()];
    this.loaded = new Map();
    for (const d of devices) await d.device.close();
    await this.deps.renderer.close();
    await this.deps.chain.stop();
    this.deps.addressKeys.clear();
  }

  private async open(row: Pick<AuditDeviceRow, 'type' | 'options'>): Promise<AuditDevice> {
    if (row.type === 'file') return FileAuditDevice.open(this.deps.fileDir, row.options, this.deps.stdout);
    if (row.type === 'database') return new DatabaseAuditDevice(this.deps.chain);
    throw badRequest(`unknown audit device type "${row.type}"`);
  }

  private async loadedDevice(row: AuditDeviceRow, device: AuditDevice): Promise<LoadedDevice> {
    const salt = await this.deps.devices.openSalt(row);
    return { row, salt, hash: saltedHasher(salt), device };
  }

  private async reload(): Promise<void> {
    if (!this.active) return;
    const next = new Map<string, LoadedDevice>();
    for (const row of await this.deps.devices.all()) {
      const current = this.loaded.get(row.path);
      if (current && current.row.uuid === row.uuid) {
        next.set(row.path, current);
        continue;
      }
      let device: AuditDevice;
      try {
        device = await this.open(row);
      } catch (err) {
        // Kept as a failing device: dropping it could leave requests unaudited.
        const reason = (err as Error).message;
        this.deps.log.error(`audit device "${row.path}" could not be opened: ${reason}`);
        device = new UnavailableAuditDevice(reason);
      }
      next.set(row.path, await this.loadedDevice(row, device));
    }
    const old = this.loaded;
    this.loaded = next;
    for (const [path, d] of old) if (next.get(path) !== d) await d.device.close();
  }

  /**
   * SIGHUP: every `file` device opens its file again (after log rotation moved the old one away),
   * and a device that could not be opened at unseal is tried again. A device that still cannot be
   * opened keeps what it had: an open file goes on receiving entries, an unavailable device stays
   * failing. Entries being written finish on the old file before it is closed.
   */
  async reopen(): Promise<void> {
    if (!this.active) return;
    for (const [path, current] of this.loaded) {
      if (current.row.type !== 'file' && !(current.device instanceof UnavailableAuditDevice)) continue;
      let device: AuditDevice;
      try {
        device = await this.open(current.row);
      } catch (err) {
        this.deps.log.error(`audit device "${path}" could not be reopened: ${(err as Error).message}`);
        continue;
      }
      if (this.loaded.get(path) !== current) {
        await device.close();
        continue;
      }
      this.loaded.set(path, { ...current, device });
      await current.device.close();
      this.deps.log.info(`audit device "${path}" reopened`);
    }
  }

  list(): AuditDeviceRow[] {
    return [...this.loaded.values()].map((d) => d.row);
  }

  async enable(path: string, spec: EnableSpec): Promise<void> {
    if (!(AUDIT_DEVICE_TYPES as readonly string[]).includes(spec.type)) throw badRequest(`unknown audit device type "${spec.type}"`);
    if (spec.type === 'database') {
      DatabaseAuditDevice.checkOptions(spec.options);
      if ((await this.deps.devices.all()).some((d) => d.type === 'database'))
        throw badRequest('a database audit device is already enabled (there is one audit chain)');
    }
    const device = await this.open(spec);
    const salt = randomKey();
    let row: AuditDeviceRow | undefined;
    try {
      row = await this.deps.devices.insert({
        path,
        uuid: randomUUID(),
        type: spec.type,
        description: spec.description,
        options: spec.options,
        local: spec.local,
        salt,
      });
    } finally {
      zero(salt);
    }
    if (!row) {
      await device.close();
      throw badRequest(`path already in use at ${path}`);
    }
    this.loaded.set(path, await this.loadedDevice(row, device));
    await this.deps.bus?.publish('audit');
  }

  async disable(path: string): Promise<void> {
    await this.deps.devices.delete(path);
    const d = this.loaded.get(path);
    this.loaded.delete(path);
    await d?.device.close();
    await this.deps.bus?.publish('audit');
  }

  /** `sys/audit-hash`: the HMAC a device would write for `input`. */
  hash(path: string, input: string): string {
    const d = this.loaded.get(path);
    if (!d) throw new ApiError(400, [`unknown audit backend ${path}`]);
    return d.hash(input);
  }

  async logRequest(trace: AuditTrace): Promise<void> {
    const rendered = await this.write('request', { kind: 'request', trace });
    this.requestBlocks.set(
      trace,
      rendered.flatMap((t) => t.requestBlocks ?? []),
    );
  }

  async logResponse(trace: AuditTrace, outcome: AuditOutcome): Promise<void> {
    const request = this.requestBlocks.get(trace);
    this.requestBlocks.delete(trace);
    await this.write('response', { kind: 'response', trace, outcome, responseTime: new Date(), request });
  }

  /**
   * A pure read's two entries at once, the request's first: committed together (one group commit
   * on the chain) before the answer goes out. Only for handlers that change nothing, so nothing
   * happened that these entries do not record.
   */
  async logRequestAndResponse(trace: AuditTrace, outcome: AuditOutcome): Promise<void> {
    await this.write('request and response', { kind: 'pair', trace, outcome, responseTime: new Date() });
  }

  /** Renders the job for every loaded device (each with its own salt and format), then writes each device's entries; gives what was rendered. */
  private async write(what: string, job: Omit<RenderJob, 'targets'>): Promise<RenderedTarget[]> {
    const devices = [...this.loaded.values()];
    if (devices.length === 0) return [];
    let rendered: RenderedTarget[];
    try {
      rendered = await this.deps.renderer.render({
        ...job,
        targets: devices.map((d) => ({ format: d.device.format, salt: d.salt, elideListResponses: elidesListResponses(d.row.options) })),
      });
    } catch (err) {
      this.deps.log.error(`audit: the ${what} of ${job.trace.requestId} could not be rendered: ${(err as Error).message}`);
      throw new AuditFailure(`no audit backend succeeded in logging the ${what}`);
    }
    const results = await Promise.allSettled(devices.map((d, i) => d.device.write(rendered[i])));
    let committed = 0;
    let requiredFailed = false;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') committed++;
      else {
        requiredFailed ||= isRequired(devices[i].row.type, devices[i].row.options);
        this.deps.log.error(
          `audit device "${devices[i].row.path}" failed to log the ${what} of ${job.trace.requestId}: ${(r.reason as Error)?.message ?? String(r.reason)}`,
        );
      }
    });
    if (committed === 0) throw new AuditFailure(`no audit backend succeeded in logging the ${what}`);
    if (requiredFailed) throw new AuditFailure(`a required audit backend failed to log the ${what}`);
    return rendered;
  }
}
