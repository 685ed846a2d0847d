/**
 * The audit broker in the pipeline: fail-closed when no device commits (the database device, a file
 * device whose pipe lost its reader, stdout broken, a device that cannot be opened at unseal),
 * reopening devices (what SIGHUP does), device management and the file device's directory rule,
 * concurrent writers on one chain, and crypto-shredding of addresses.
 */
import { bareColumns } from '../../src/audit/audit-entry';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditChainWriter } from '../../src/audit/chain-writer';
import { createLogger } from '../../src/logger';
import { signingKeyFromDer } from '../../src/crypto/audit-chain';
import { kernelSecretLocation } from '../../src/kernel/kernel-secrets.repository';
import { openAuditedKernel, verifyThroughApi, type Call } from '../support/audit';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

const SECRET = 'hunter2-secret';

/** A named pipe with a reader open (non-blocking), so that opening it for writing does not wait. */
function namedPipe(path: string): { path: string; reader: number } {
  execFileSync('mkfifo', ['-m', '0600', path]);
  return { path, reader: openSync(path, constants.O_RDONLY | constants.O_NONBLOCK) };
}

/** Everything in the pipe now, as parsed JSON lines (each entry is in the pipe before its request is answered). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function drain(reader: number): Record<string, any>[] {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(65_536);
  for (;;) {
    try {
      const n = readSync(reader, buffer);
      if (n === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, n)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break;
      throw err;
    }
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

/** The answer to each request is the generic 500, and nothing of the secret is in it. */
async function expectFailedClosed(call: Call, requests: [string, string, unknown?][]): Promise<void> {
  for (const [method, url, body] of requests) {
    const res = await call(method, url, body);
    expect([method, url, res.status, res.json]).toEqual([method, url, 500, { errors: ['internal error'] }]);
    expect(res.body).not.toContain(SECRET);
  }
}

/**
 * A kernel unsealed while its `file` device `siem/` cannot be opened: while sealed, the file was
 * replaced by a directory (opening it for writing is EISDIR, whoever the server runs as).
 * `beforeSeal` runs once the device is enabled.
 */
async function unsealedWithUnopenableDevice(level: 'error' | 'info', beforeSeal?: (call: Call) => Promise<void>) {
  const logged: string[] = [];
  const opened = await openAuditedKernel({ log: createLogger(level, (l) => logged.push(l)) });
  expect((await opened.call('PUT', 'sys/audit/siem', { type: 'file', options: { file_path: 'siem/audit.log' } })).status).toBe(204);
  await beforeSeal?.(opened.call);
  await opened.k.seal.seal();
  const file = join(opened.k.auditConfig.fileDir, 'siem/audit.log');
  rmSync(file);
  mkdirSync(file);
  await opened.k.seal.submitUnsealKey(opened.key, false);
  return { ...opened, logged, file };
}

const REQUESTS: [string, string, unknown?][] = [
  ['GET', 'secret/data/app'],
  ['PUT', 'secret/data/app', { data: { password: 'other' } }],
  ['GET', 'sys/mounts'],
  ['PUT', 'auth/token/create', {}],
];

describe('audit broker (medium)', () => {
  let k: TestKernel | undefined;
  afterEach(async () => {
    await k?.close();
    k = undefined;
  });

  it('fails closed: with the only device (the database) unwritable every request is a 500 with no secret; a second working device keeps requests going when the database device is not required', async () => {
    let call: Call;
    ({ k, call } = await openAuditedKernel());
    expect((await call('PUT', 'secret/data/app', { data: { password: 'hunter2-secret' } })).status).toBe(200); // no device yet: not audited
    expect((await call('PUT', 'sys/audit/chain', { type: 'database' })).status).toBe(204);
    expect((await call('GET', 'secret/data/app')).status).toBe(200);

    // Every INSERT into the audit log now fails (as a full disk or a revoked grant would).
    await k.dataSource.query('ALTER TABLE audit_logs ADD CONSTRAINT audit_unwritable CHECK (false) NOT VALID');
    for (const [method, url, body] of [
      ['GET', 'secret/data/app'],
      ['PUT', 'secret/data/app', { data: { password: 'other' } }],
      ['GET', 'sys/mounts'],
      ['GET', 'secret/data/missing'],
      ['PUT', 'auth/token/create', {}],
    ] as [string, string, unknown][]) {
      const res = await call(method, url, body);
      expect(res.status).toBe(500);
      expect(res.json).toEqual({ errors: ['internal error'] });
    }
    // The write above did not happen (its request entry failed before the handler ran).
    await k.dataSource.query('ALTER TABLE audit_logs DROP CONSTRAINT audit_unwritable');
    expect((await call('GET', 'secret/data/app')).json.data.data).toEqual({ password: 'hunter2-secret' });

    expect((await call('PUT', 'sys/audit/siem', { type: 'file', options: { file_path: 'siem/audit.log' } })).status).toBe(204);
    expect((await call('DELETE', 'sys/audit/chain')).status).toBe(204);
    expect((await call('PUT', 'sys/audit/chain', { type: 'database', options: { required: 'false' } })).status).toBe(204);
    await k.dataSource.query('ALTER TABLE audit_logs ADD CONSTRAINT audit_unwritable CHECK (false) NOT VALID');
    expect((await call('GET', 'secret/data/app')).status).toBe(200);
    const lines = readFileSync(join(k.auditConfig.fileDir, 'siem/audit.log'), 'utf8').trim().split('\n');
    expect(JSON.parse(lines[lines.length - 1])).toMatchObject({ type: 'response', request: { path: 'secret/data/app', operation: 'read' } });
  });

  it("a write's response entry repeats its request entry's request block, sealed address included, on each device", async () => {
    let call: Call;
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    expect((await call('PUT', 'sys/audit/siem', { type: 'file', options: { file_path: 'siem/repeat.log' } })).status).toBe(204);
    const written = await call('PUT', 'secret/data/repeat', { data: { password: SECRET } });
    expect(written.status).toBe(200);
    const id = written.json.request_id as string;
    const stored: { entry_bytes: Buffer }[] = await k.dataSource.query(
      'SELECT entry_bytes FROM audit_logs WHERE correlation_id = $1 ORDER BY sequence_number',
      [id],
    );
    const lines = readFileSync(join(k.auditConfig.fileDir, 'siem/repeat.log'), 'utf8').trim().split('\n');
    const fromFile = lines.map((l) => JSON.parse(l)).filter((e) => e.request?.id === id);
    for (const [request, response] of [stored.map((r) => JSON.parse(r.entry_bytes.toString())), fromFile]) {
      expect([request.type, response.type]).toEqual(['request', 'response']);
      expect(request.request.data.data.password).toMatch(/^hmac-sha256:/);
      expect(request.request.remote_address).toMatch(/^enc:v1:/);
      expect(response.request).toEqual(request.request);
      expect(response.auth).toEqual(request.auth);
    }
  });

  it('fails closed when the only device is a file that stops being writable (its pipe lost its reader); writable again, requests go through', async () => {
    let call: Call;
    const logged: string[] = [];
    ({ k, call } = await openAuditedKernel({ log: createLogger('error', (l) => logged.push(l)) }));
    expect((await call('PUT', 'secret/data/app', { data: { password: SECRET } })).status).toBe(200); // no device yet: not audited
    mkdirSync(k.auditConfig.fileDir, { recursive: true, mode: 0o700 });
    const pipe = namedPipe(join(k.auditConfig.fileDir, 'shipper.pipe'));
    expect((await call('PUT', 'sys/audit/shipper', { type: 'file', options: { file_path: 'shipper.pipe' } })).status).toBe(204);
    expect((await call('GET', 'secret/data/app')).status).toBe(200);
    expect(drain(pipe.reader).map((e) => [e.type, e.request.path])).toEqual([
      ['request', 'secret/data/app'],
      ['response', 'secret/data/app'],
    ]);

    // The log shipper reading the pipe goes away: every write to the device's descriptor is EPIPE.
    closeSync(pipe.reader);
    await expectFailedClosed(call, REQUESTS);
    expect(logged.some((l) => l.includes('audit device "shipper/" failed to log the request') && l.includes('EPIPE'))).toBe(true);
    expect(logged.join('\n')).not.toContain(SECRET);

    // A reader again: the same descriptor writes, and the write refused above never happened.
    const reader = openSync(pipe.path, constants.O_RDONLY | constants.O_NONBLOCK);
    expect((await call('GET', 'secret/data/app')).json.data.data).toEqual({ password: SECRET });
    expect(drain(reader).map((e) => e.type)).toEqual(['request', 'response']);
    closeSync(reader);
  });

  it('file_path=stdout: entries reach the stream once it reports them written; a broken stdout (EPIPE) fails closed', async () => {
    // stdout as Node makes it for a pipe (a socket on the descriptor), to a named pipe this test reads.
    const dir = mkdtempSync(join(tmpdir(), 'secrethub-stdout-'));
    const pipe = namedPipe(join(dir, 'stdout'));
    const stdout = new Socket({ fd: openSync(pipe.path, constants.O_WRONLY | constants.O_NONBLOCK), readable: false, writable: true });
    let call: Call;
    const logged: string[] = [];
    ({ k, call } = await openAuditedKernel({ auditStdout: stdout, log: createLogger('error', (l) => logged.push(l)) }));
    expect((await call('PUT', 'sys/audit/out', { type: 'file', options: { file_path: 'stdout' } })).status).toBe(204);
    expect((await call('PUT', 'secret/data/app', { data: { password: SECRET } })).status).toBe(200);
    const entries = drain(pipe.reader);
    expect(entries.map((e) => [e.type, e.request.path, e.response?.status_code])).toEqual([
      ['request', 'secret/data/app', undefined],
      ['response', 'secret/data/app', 200],
    ]);
    expect(entries[0].request.data.data.password).toBe((await call('PUT', 'sys/audit-hash/out', { input: SECRET })).json.hash);
    expect(JSON.stringify(entries)).not.toContain(SECRET);

    // Nothing reads stdout any more: the write callback reports EPIPE, and nothing counts as logged.
    closeSync(pipe.reader);
    await expectFailedClosed(call, REQUESTS);
    expect(logged[0]).toMatch(/audit device "out\/" failed to log the request and response of [0-9a-f-]+: write EPIPE$/);
    stdout.destroy();
    rmSync(dir, { recursive: true });
  });

  it('a device that cannot be opened at unseal fails every request closed, its own disable included, until its row is removed and the server restarts', async () => {
    let call: Call;
    let key: string;
    let logged: string[];
    ({ k, call, key, logged } = await unsealedWithUnopenableDevice('error', async (c) =>
      expect((await c('PUT', 'secret/data/app', { data: { password: SECRET } })).status).toBe(200),
    ));
    // Logged at unseal; under CI load a second load of the devices (not yet explained, see the issue 30
    // note) may try and log it again, each time the same line.
    const notOpened = logged.filter((l) => l.includes('audit device "siem/" could not be opened'));
    expect(notOpened.length).toBeGreaterThanOrEqual(1);
    for (const line of notOpened) expect(line).toMatch(/could not be opened: sanity check failed; unable to open "siem\/audit\.log" for writing: EISDIR$/);

    await expectFailedClosed(call, [...REQUESTS, ['GET', 'sys/audit'], ['DELETE', 'sys/audit/siem']]);
    expect(logged.some((l) => l.includes('audit device "siem/" failed to log the request') && l.includes('device unavailable'))).toBe(true);
    expect(logged.join('\n')).not.toContain(SECRET);

    // The documented way out (docs/audit.md): remove the row, restart; with no device nothing is audited.
    await k.seal.seal();
    await k.dataSource.query("DELETE FROM audit_devices WHERE path = 'siem/'");
    await k.seal.submitUnsealKey(key, false);
    expect((await call('GET', 'secret/data/app')).json.data.data).toEqual({ password: SECRET });
    expect(Object.keys((await call('GET', 'sys/audit')).json.data)).toEqual([]);
  });

  it('reopen (SIGHUP) tries a device that could not be opened at unseal again, and keeps it failing closed while it still cannot be opened', async () => {
    let call: Call;
    let logged: string[];
    let file: string;
    ({ k, call, logged, file } = await unsealedWithUnopenableDevice('info'));
    expect((await call('GET', 'sys/mounts')).status).toBe(500);

    await k.audit.broker.reopen();
    expect(logged.some((l) => l.includes('audit device "siem/" could not be reopened'))).toBe(true);
    expect((await call('GET', 'sys/mounts')).status).toBe(500);

    rmSync(file, { recursive: true });
    await k.audit.broker.reopen();
    expect(logged.some((l) => l.includes('audit device "siem/" reopened'))).toBe(true);
    expect((await call('GET', 'sys/mounts')).status).toBe(200);
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.type, l.request.path])).toEqual([
      ['request', 'sys/mounts'],
      ['response', 'sys/mounts'],
    ]);
  });

  it('manages devices as Vault does, and file devices write only inside the configured directory', async () => {
    let call: Call;
    const stdoutLines: string[] = [];
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, done) {
        stdoutLines.push(chunk.toString('utf8'));
        done();
      },
    });
    ({ k, call } = await openAuditedKernel({ auditStdout: stdout }));
    const put = (path: string, body: unknown) => call('PUT', `sys/audit/${path}`, body);
    expect((await put('f1', { type: 'file', options: { file_path: 'a.log' } })).status).toBe(204);
    expect(
      (await put('f2', { type: 'file', description: 'absolute inside', options: { file_path: join(k.auditConfig.fileDir, 'b.log'), mode: '0640' } })).status,
    ).toBe(204);
    expect((await put('out', { type: 'file', options: { file_path: 'stdout' } })).status).toBe(204);
    for (const [body, message] of [
      [{ type: 'file', options: { file_path: '/tmp/evil.log' } }, /inside the audit directory/],
      [{ type: 'file', options: { file_path: '../evil.log' } }, /inside the audit directory/],
      [{ type: 'file', options: { file_path: 'x/../../evil.log' } }, /inside the audit directory/],
      [{ type: 'file', options: { file_path: 'c.log', mode: '0755' } }, /executable/],
      [{ type: 'file', options: { file_path: 'c.log', log_raw: 'true' } }, /log_raw/],
      [{ type: 'file', options: { file_path: 'c.log', elide_list_responses: 'maybe' } }, /elide_list_responses must be a boolean/],
      [{ type: 'file', options: { file_path: 'c.log', prefix: '#!/bin/sh' } }, /unknown option "prefix"/],
      [{ type: 'syslog' }, /unknown audit device type/],
      [{ type: 'file', options: { file_path: 'a.log' } }, /path already in use/],
    ] as [unknown, RegExp][]) {
      const res = await put(body && (body as { options?: { file_path?: string } }).options?.file_path === 'a.log' ? 'f1' : 'bad', body);
      expect(res.status).toBe(400);
      expect(res.json.errors[0]).toMatch(message);
    }
    const list = await call('GET', 'sys/audit');
    expect(Object.keys(list.json.data).sort()).toEqual(['f1/', 'f2/', 'out/']);
    expect(list.json['f2/']).toEqual({
      type: 'file',
      description: 'absolute inside',
      options: { file_path: join(k.auditConfig.fileDir, 'b.log'), mode: '0640' },
      local: false,
      path: 'f2/',
    });

    const h1 = (await call('PUT', 'sys/audit-hash/f1', { input: 'value' })).json;
    const h2 = (await call('PUT', 'sys/audit-hash/f2', { input: 'value' })).json;
    expect(h1.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(h1.data.hash).toBe(h1.hash);
    expect(h2.hash).not.toBe(h1.hash); // one salt per device
    expect((await call('PUT', 'sys/audit-hash/nope', { input: 'value' })).status).toBe(400);

    // The hash in the file is the one audit-hash gives: operators can find a value without seeing it.
    await call('PUT', 'secret/data/x', { data: { k: 'value' } });
    expect(readFileSync(join(k.auditConfig.fileDir, 'a.log'), 'utf8')).toContain(h1.hash);
    expect(JSON.parse(stdoutLines[stdoutLines.length - 1])).toMatchObject({ type: 'response', request: { path: 'secret/data/x' } });

    // elide_list_responses: that device logs how many keys a list answered, the others their hashes.
    expect((await put('short', { type: 'file', options: { file_path: 'short.log', elide_list_responses: 'true' } })).status).toBe(204);
    await call('PUT', 'secret/data/y', { data: { k: 'value' } });
    expect((await call('GET', 'secret/metadata/?list=true')).json.data.keys).toEqual(['x', 'y']);
    const auditDir = k.auditConfig.fileDir;
    const lastResponse = (file: string) => JSON.parse(readFileSync(join(auditDir, file), 'utf8').trim().split('\n').pop()!).response;
    expect(lastResponse('short.log')).toMatchObject({ data: { keys: 2 } });
    expect(lastResponse('a.log').data.keys).toEqual([expect.stringMatching(/^hmac-sha256:/), expect.stringMatching(/^hmac-sha256:/)]);
    expect((await call('DELETE', 'sys/audit/short')).status).toBe(204);

    // Re-enabling a path gives a new salt.
    expect((await call('DELETE', 'sys/audit/f1')).status).toBe(204);
    expect((await put('f1', { type: 'file', options: { file_path: 'a.log' } })).status).toBe(204);
    expect((await call('PUT', 'sys/audit-hash/f1', { input: 'value' })).json.hash).not.toBe(h1.hash);

    // A token without sudo cannot list or enable devices.
    const limited = (await call('PUT', 'auth/token/create', { policies: ['default'] })).json.auth.client_token as string;
    expect((await call('GET', 'sys/audit', undefined, limited)).status).toBe(403);
    expect((await call('PUT', 'sys/audit/x', { type: 'file', options: { file_path: 'x.log' } }, limited)).status).toBe(403);
  });

  it('64 concurrent writers on two nodes give one contiguous chain that verifies', async () => {
    let call: Call;
    ({ k, call } = await openAuditedKernel());
    expect((await call('PUT', 'sys/audit/chain', { type: 'database' })).status).toBe(204);
    // A second writer on the same database stands for another node appending at the same time.
    const other = new AuditChainWriter(k.audit.log, {
      checkpointEntries: 50,
      checkpointIntervalSeconds: 3600,
      checkpointFile: join(k.auditConfig.fileDir, 'other-checkpoints.jsonl'),
      log: createLogger('error'),
    });
    // Nodes share the signing key through the barrier.
    const stored = (await k.dataSource.query("SELECT value_ciphertext FROM kernel_secrets WHERE name = 'audit_signing_key'"))[0].value_ciphertext;
    await other.start(signingKeyFromDer(k.barrier.decrypt(kernelSecretLocation('audit_signing_key'), stored)));
    const entry = (i: number) => ({
      bytes: Buffer.from(JSON.stringify({ other: i })),
      eventData: JSON.stringify({ other: i }),
      time: new Date(),
      columns: bareColumns('test', `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`),
    });
    const results = await Promise.all([
      ...Array.from({ length: 64 }, (_, i) => call('PUT', `secret/data/w${i}`, { data: { n: i } })),
      ...Array.from({ length: 64 }, (_, i) => other.append(entry(i)).then(() => ({ status: 200 }))),
    ]);
    await other.stop();
    expect(results.every((r) => r.status === 200)).toBe(true);
    const seqs: { sequence_number: string }[] = await k.dataSource.query('SELECT sequence_number FROM audit_logs ORDER BY sequence_number');
    expect(seqs.map((r) => Number(r.sequence_number))).toEqual(seqs.map((_, i) => i + 1));
    expect(seqs.length).toBe(128 + 64); // the enabling request itself is not audited: no device existed when it began
    const report = await verifyThroughApi(call);
    expect(report.problem).toBeUndefined();
    expect(report.ok).toBe(true);
  });

  it('crypto-shredding: a month key past retention is destroyed, its addresses become unreadable, the chain still verifies', async () => {
    let call: Call;
    ({ k, call } = await openAuditedKernel());
    expect((await call('PUT', 'sys/audit/chain', { type: 'database' })).status).toBe(204);
    await call('GET', 'secret/data/x');
    const rows: { source_ip: string }[] = await k.dataSource.query('SELECT source_ip FROM audit_logs WHERE source_ip IS NOT NULL LIMIT 1');
    expect(rows[0].source_ip).toMatch(/^enc:v1:\d{4}-\d{2}:/);
    expect(rows[0].source_ip).not.toContain('192.0.2.10');
    expect(await k.audit.addressKeys.open(rows[0].source_ip)).toBe('192.0.2.10');
    expect(await k.audit.addressKeys.shred(new Date())).toEqual([]); // within retention: kept
    const month = rows[0].source_ip.slice(7, 14);
    expect(await k.audit.addressKeys.shred(new Date(Date.now() + 200 * 86400_000))).toEqual([month]);
    expect(await k.audit.addressKeys.open(rows[0].source_ip)).toBeUndefined();
    const secrets: unknown[] = await k.dataSource.query("SELECT name FROM kernel_secrets WHERE name LIKE 'audit_address_key/%'");
    expect(secrets).toEqual([]);
    const report = await verifyThroughApi(call);
    expect(report.ok).toBe(true);
  });

  it('an unseal right after a seal waits for the audit stop: signing key, month keys and the chain are those of the new start', async () => {
    let call: Call;
    let key: string;
    ({ k, call, key } = await openAuditedKernel({ databaseDevice: true }));
    expect((await call('GET', 'secret/data/x')).status).toBe(404);
    // A slow stop (the writer's connection closing): the seal hook does not wait for it.
    const chain = k.audit.chain;
    const stop = chain.stop.bind(chain);
    const slowStop = jest.spyOn(chain, 'stop').mockImplementation(async () => {
      await new Promise((r) => setTimeout(r, 300));
      await stop();
    });
    await k.seal.seal();
    await k.seal.submitUnsealKey(key, false);
    expect(slowStop).toHaveBeenCalledTimes(1);
    slowStop.mockRestore();
    expect((await call('PUT', 'secret/data/x', { data: { v: 'after' } })).status).toBe(200);
    expect((await call('GET', 'sys/audit-log/public-key')).status).toBe(200);
    // The new entries' addresses were sealed under a live month key (not one a late stop zeroed).
    const rows: { source_ip: string }[] = await k.dataSource.query(
      'SELECT source_ip FROM audit_logs WHERE source_ip IS NOT NULL ORDER BY sequence_number DESC LIMIT 2',
    );
    for (const r of rows) expect(await k.audit.addressKeys.open(r.source_ip)).toBe('192.0.2.10');
    expect((await verifyThroughApi(call)).ok).toBe(true);
  });
});
