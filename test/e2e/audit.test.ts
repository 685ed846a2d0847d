/**
 * The audit log end to end: the CLI enables devices, exports and verifies offline (and names the
 * tampered sequence); an export verified against the live checkpoint file the server went on
 * signing into is verified to its end, the later checkpoints named as not covered; kill -9 in the
 * middle of group-committed batches leaves a chain that verifies; SIGHUP reopens file devices after
 * log rotation.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chainHash, leafHash } from '../../src/crypto/audit-chain';
import type { VerifyReport } from '../../src/audit/verify';
import { createTestDatabase } from '../support/database';
import { call, initAndUnseal } from '../support/http';
import { runCli } from '../support/cli';
import { until } from '../support/wait';
import { startServerProcess, type ServerProcess } from '../support/server-process';

jest.setTimeout(240_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('audit log (e2e)', () => {
  let server: ServerProcess | undefined;
  afterEach(async () => server?.stop());

  it('secrethub audit enable/list/export/verify: an untouched export verifies, a tampered one names the sequence', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrethub-audit-e2e-'));
    const env = { SECRETHUB_AUDIT_FILE_DIR: join(dir, 'audit'), SECRETHUB_AUDIT_CHECKPOINT_FILE: join(dir, 'checkpoints.jsonl') };
    server = await startServerProcess({ databaseUrl: await createTestDatabase(), env });
    const { rootToken } = await initAndUnseal(server.address);
    const cli = (...args: string[]) => runCli(args, { VAULT_ADDR: server!.address, VAULT_TOKEN: rootToken });

    expect((await cli('audit', 'enable', 'database')).stdout).toContain('Success! Enabled the database audit device at: database/');
    expect((await cli('audit', 'enable', '-path=siem', 'file', 'file_path=siem.log')).code).toBe(0);
    const outside = await cli('audit', 'enable', 'file', 'file_path=/etc/evil.log');
    expect(outside.code).toBe(2);
    expect(outside.stderr).toContain('inside the audit directory');
    const list = await cli('audit', 'list');
    expect(list.stdout).toMatch(/database\/\s+database/);
    expect(list.stdout).toMatch(/siem\/\s+file/);
    expect(JSON.parse((await cli('audit', 'list', '-format=json')).stdout)['siem/'].options).toEqual({ file_path: 'siem.log' });

    await call(server.address, 'PUT', 'sys/mounts/secret', { token: rootToken, body: { type: 'kv', options: { version: '2' } } });
    for (let i = 0; i < 10; i++) await call(server.address, 'PUT', `secret/data/s${i}`, { token: rootToken, body: { data: { v: `value-${i}` } } });
    expect((await cli('audit', 'checkpoint')).stdout).toMatch(/Checkpoint at tree size \d+/);
    for (let i = 0; i < 3; i++) await call(server.address, 'GET', `secret/data/s${i}`, { token: rootToken });
    const metrics = await call(server.address, 'GET', 'sys/metrics?format=prometheus', { token: rootToken });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(metrics.text).toMatch(/^# HELP secrethub_audit_anomalies /m);
    expect(metrics.text).toMatch(/^secrethub_audit_anomaly_scan_last_sequence \d+$/m);

    const keyFile = join(dir, 'audit.pem');
    const key = await cli('audit', 'public-key');
    expect(key.stdout).toContain('BEGIN PUBLIC KEY');
    writeFileSync(keyFile, key.stdout);
    const exportFile = join(dir, 'export.jsonl');
    const exported = await cli('audit', 'export', '--output', exportFile);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toMatch(/exported \d+\/\d+ entries/);
    const checkpoints = env.SECRETHUB_AUDIT_CHECKPOINT_FILE;
    const ok = await cli('audit', 'verify', exportFile, '--public-key', keyFile, '--checkpoint', checkpoints);
    // One checkpoint asked for; the interval may add another on a slow machine.
    expect(ok.stdout).toMatch(/^Verified: \d+ entries \(sequences 1\.\.\d+\), [1-9]\d* signed checkpoints/);
    expect(ok.code).toBe(0);

    // Edit one entry in the export (an auditor's copy changed after the fact).
    const lines = readFileSync(exportFile, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.includes('"sequence_number":9,'));
    const line = JSON.parse(lines[i]);
    line.entry = Buffer.from(Buffer.from(line.entry, 'base64').toString().replace('"update"', '"read"')).toString('base64');
    lines[i] = JSON.stringify(line);
    writeFileSync(exportFile, lines.join('\n'));
    const bad = await cli('audit', 'verify', exportFile, '--public-key', keyFile);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('Verification FAILED at sequence 9');
    expect(JSON.parse((await cli('audit', 'verify', exportFile, '--public-key', keyFile, '--format', 'json')).stdout).problem.sequence).toBe(9);

    // The file device holds Vault-format JSON lines with no clear secret.
    const siem = readFileSync(join(dir, 'audit', 'siem.log'), 'utf8');
    expect(siem).not.toContain('value-3');
    expect(JSON.parse(siem.split('\n')[0])).toMatchObject({ type: expect.stringMatching(/request|response/), request: { namespace: { id: 'root' } } });
  });

  it('audit verify of an older export against the live checkpoint file: verified up to its end, later checkpoints not covered; a cut or rewritten export fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrethub-audit-live-'));
    const checkpointFile = join(dir, 'checkpoints.jsonl');
    // The server signs a checkpoint every 20 entries, as on a busy log, and never on the timer.
    writeFileSync(join(dir, 'audit.hcl'), 'audit {\n  checkpoint_entries = 20\n  checkpoint_interval = "24h"\n}\n');
    const env = { SECRETHUB_AUDIT_FILE_DIR: join(dir, 'audit'), SECRETHUB_AUDIT_CHECKPOINT_FILE: checkpointFile };
    server = await startServerProcess({ databaseUrl: await createTestDatabase(), env, args: ['--config', join(dir, 'audit.hcl')] });
    const { rootToken } = await initAndUnseal(server.address);
    const cli = (...args: string[]) => runCli(args, { VAULT_ADDR: server!.address, VAULT_TOKEN: rootToken });
    const liveSizes = () =>
      existsSync(checkpointFile)
        ? readFileSync(checkpointFile, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l).tree_size as number)
        : [];
    /** 15 audited requests (30 entries), then waits for the server to append a checkpoint above `above`. */
    const trafficUntilCheckpoint = async (above: number) => {
      for (let i = 0; i < 15; i++) expect((await call(server!.address, 'GET', 'sys/mounts', { token: rootToken })).status).toBe(200);
      await until(async () => liveSizes().some((s) => s > above));
    };

    expect((await call(server.address, 'PUT', 'sys/audit/chain', { token: rootToken, body: { type: 'database' } })).status).toBe(204);
    await trafficUntilCheckpoint(0);
    const keyFile = join(dir, 'audit.pem');
    writeFileSync(keyFile, (await cli('audit', 'public-key')).stdout);
    const exportFile = join(dir, 'export.jsonl');
    const exportedAt = Date.now();
    expect((await cli('audit', 'export', '--output', exportFile)).code).toBe(0);
    const exportLines = readFileSync(exportFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const end = Math.max(...exportLines.filter((l) => l.kind === 'entry').map((l) => l.sequence_number as number));
    const ownCheckpoint = Math.max(...exportLines.filter((l) => l.kind === 'checkpoint').map((l) => l.tree_size as number));
    await trafficUntilCheckpoint(end);
    const live = liveSizes();
    const newestCovered = Math.max(ownCheckpoint, ...live.filter((s) => s <= end));
    const later = live.filter((s) => s > end);

    const verify = async (file: string, ...extra: string[]) => {
      const args = ['audit', 'verify', file, '--public-key', keyFile, '--checkpoint', checkpointFile, ...extra];
      const text = await cli(...args);
      const json = await cli(...args, '-format=json');
      expect(json.code).toBe(text.code);
      return { text, report: JSON.parse(json.stdout) as VerifyReport };
    };

    // The export as taken: verified to its end, not as a whole log; exit 0 with a warning.
    const older = await verify(exportFile);
    expect(older.text.code).toBe(0);
    expect(older.text.stdout).not.toMatch(/^Verified:/m);
    expect(older.text.stdout).toContain(`Verified up to the export's end (sequence ${end}) only: ${end} entries (sequences 1..${end}), `);
    expect(older.text.stdout).toContain(`the newest at tree size ${newestCovered}`);
    expect(older.text.stdout).toMatch(
      new RegExp(
        `^WARNING! ${later.length} signed checkpoints? lies? beyond the export's end.*: entries ${end + 1}\\.\\.${Math.max(...later)} are not in this export and were not checked`,
        'm',
      ),
    );
    expect(older.report).toMatchObject({
      ok: true,
      lastSequence: end,
      checkpointedThrough: newestCovered,
      beyondEnd: { checkpoints: later.length, firstTreeSize: Math.min(...later), lastTreeSize: Math.max(...later) },
    });
    expect(older.report.problem).toBeUndefined();
    expect(Date.parse(older.report.beyondEnd!.firstTime)).toBeGreaterThanOrEqual(exportedAt);
    const required = await verify(exportFile, '-require-coverage');
    expect(required.text.code).toBe(1);
    expect(required.text.stdout).toContain(
      `Verification FAILED at sequence ${end + 1}: not covered: the signed checkpoint at tree size ${Math.min(...later)} lies beyond`,
    );
    expect(required.report).toMatchObject({ ok: false, problem: { sequence: end + 1 } });

    // Cut below its own checkpoint, its checkpoint lines left in: truncated.
    const cut = join(dir, 'cut.jsonl');
    const kept = exportLines.filter((l) => l.kind !== 'entry' || (l.sequence_number as number) < ownCheckpoint);
    writeFileSync(cut, kept.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const truncated = await verify(cut);
    expect(truncated.text.code).toBe(1);
    expect(truncated.text.stdout).toMatch(new RegExp(`^Verification FAILED at sequence ${ownCheckpoint}: truncated: `));
    expect(truncated.report).toMatchObject({ ok: false, problem: { sequence: ownCheckpoint } });
    // Its later checkpoint lines removed too, it reads as an export taken then: not covered, a checkpoint signed before the export was.
    writeFileSync(
      cut,
      kept
        .filter((l) => l.kind !== 'checkpoint' || (l.tree_size as number) < ownCheckpoint)
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    const hidden = await verify(cut);
    expect(hidden.text.code).toBe(0);
    expect(hidden.text.stdout).toContain(`Verified up to the export's end (sequence ${ownCheckpoint - 1}) only`);
    expect(hidden.report.beyondEnd).toMatchObject({ firstTreeSize: ownCheckpoint });
    expect(Date.parse(hidden.report.beyondEnd!.firstTime)).toBeLessThan(exportedAt);
    expect((await verify(cut, '--require-coverage')).text.stdout).toMatch(new RegExp(`^Verification FAILED at sequence ${ownCheckpoint}: not covered: `));

    // The last entry rewritten with its hash recomputed: only the later checkpoint's signed leaves tell.
    const rewritten = exportLines.map((l) => {
      if (l.sequence_number !== end) return l;
      const bytes = Buffer.from(
        Buffer.from(l.entry as string, 'base64')
          .toString()
          .replace(/"type":"(request|response)"/, '"type":"forged"'),
      );
      const current = chainHash(end, Buffer.from(l.previous_hash as string, 'hex'), leafHash(bytes));
      return { ...l, entry: bytes.toString('base64'), current_hash: current.toString('hex') };
    });
    writeFileSync(cut, rewritten.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const changed = await verify(cut);
    expect(changed.text.code).toBe(1);
    expect(changed.text.stdout).toMatch(
      new RegExp(`^Verification FAILED at sequence ${end}: entry ${end} differs from the one signed in checkpoint at tree size \\d+`),
    );
  });

  it('SIGHUP reopens file devices: after the file is rotated away, entries go to a new file at its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrethub-audit-hup-'));
    const env = { SECRETHUB_AUDIT_FILE_DIR: join(dir, 'audit'), SECRETHUB_AUDIT_CHECKPOINT_FILE: join(dir, 'checkpoints.jsonl') };
    server = await startServerProcess({ databaseUrl: await createTestDatabase(), env });
    const { rootToken } = await initAndUnseal(server.address);
    const a = server.address;
    expect((await call(a, 'PUT', 'sys/audit/siem', { token: rootToken, body: { type: 'file', options: { file_path: 'siem.log' } } })).status).toBe(204);
    const file = join(dir, 'audit', 'siem.log');
    const rotated = `${file}.1`;
    const paths = (text: string) =>
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).request.path as string);
    await call(a, 'GET', 'sys/mounts', { token: rootToken });
    renameSync(file, rotated);
    // Until the signal, the open file (now siem.log.1) goes on receiving entries.
    await call(a, 'GET', 'sys/auth', { token: rootToken });
    expect(existsSync(file)).toBe(false);
    server.child.kill('SIGHUP');
    await until(async () => server!.output().includes('audit device "siem/" reopened'));
    await call(a, 'GET', 'sys/audit', { token: rootToken });
    expect(paths(readFileSync(rotated, 'utf8'))).toEqual(expect.arrayContaining(['sys/mounts', 'sys/auth']));
    expect(paths(readFileSync(rotated, 'utf8'))).not.toContain('sys/audit');
    expect(paths(readFileSync(file, 'utf8'))).toEqual(['sys/audit', 'sys/audit']);
  });

  it('kill -9 in the middle of group-committed batches leaves a contiguous chain that verifies', async () => {
    const url = await createTestDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'secrethub-audit-kill-'));
    const env = { SECRETHUB_AUDIT_FILE_DIR: join(dir, 'audit'), SECRETHUB_AUDIT_CHECKPOINT_FILE: join(dir, 'checkpoints.jsonl') };
    server = await startServerProcess({ databaseUrl: url, env });
    const { rootToken, key } = await initAndUnseal(server.address);
    expect((await call(server.address, 'PUT', 'sys/audit/db', { token: rootToken, body: { type: 'database' } })).status).toBe(204);
    await call(server.address, 'PUT', 'sys/mounts/secret', { token: rootToken, body: { type: 'kv', options: { version: '2' } } });

    for (let round = 0; round < 3; round++) {
      const a = server.address;
      let stop = false;
      let written = 0;
      const writers = Array.from({ length: 32 }, async (_, w) => {
        for (let n = 0; !stop; n++) {
          const res = await call(a, 'PUT', `secret/data/w${w}`, { token: rootToken, body: { data: { n } } }).catch(() => undefined);
          if (res?.status === 200) written++;
        }
      });
      // Enough writes to be in the middle of batches however slow the machine, then a random moment.
      await until(async () => written >= 40, 60_000);
      await sleep(Math.floor(Math.random() * 400));
      await server.kill9();
      stop = true;
      await Promise.all(writers);
      server = await startServerProcess({ databaseUrl: url, env });
      expect((await call(server.address, 'PUT', 'sys/unseal', { body: { key } })).body.sealed).toBe(false);
    }
    const cli = (...args: string[]) => runCli(args, { VAULT_ADDR: server!.address, VAULT_TOKEN: rootToken });
    writeFileSync(join(dir, 'key.pem'), (await cli('audit', 'public-key')).stdout);
    expect((await cli('audit', 'export', '--output', join(dir, 'export.jsonl'))).code).toBe(0);
    const verified = await cli('audit', 'verify', join(dir, 'export.jsonl'), '--public-key', join(dir, 'key.pem'), '--format', 'json');
    const report = JSON.parse(verified.stdout);
    expect(report.problem).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.entries).toBeGreaterThan(100);
  });
});
