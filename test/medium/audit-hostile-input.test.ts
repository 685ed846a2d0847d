/**
 * Input PostgreSQL cannot hold in `jsonb` or `text` (NUL, lone surrogates), sent by a client
 * without a token, fails no other client's request and leaves no served request out of the chain
 * (issue 22, defect 1); one entry the database refuses fails only its own append; the database
 * device is required by default, so a file device alone does not answer a request.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bareColumns } from '../../src/audit/audit-entry';
import type { ChainEntry } from '../../src/audit/chain-writer';
import { buildConfig } from '../../src/config/config';
import { apiModuleFor, createApiServer, type HttpServerHandle } from '../../src/http/http-server';
import { createLogger } from '../../src/logger';
import { kernelPipeline, openAuditedKernel, verifyThroughApi, type Call } from '../support/audit';
import { call as httpCall } from '../support/http';
import type { TestKernel } from '../support/kernel';

jest.setTimeout(120_000);

/** Bodies and queries of the report: each once reached PostgreSQL as is and failed its batch. */
const HOSTILE: { method: string; path: string; rawBody?: string }[] = [
  { method: 'POST', path: 'auth/token/lookup-self', rawBody: '{"\\u0000":1}' },
  { method: 'POST', path: 'auth/token/lookup-self', rawBody: '{"\\ud800":1}' },
  { method: 'POST', path: 'auth/token/lookup-self', rawBody: '{"data":{"k":{"\\u0000":1}}}' },
  { method: 'POST', path: 'secret/data/x', rawBody: '{"data":{"\\udfff\\u0000":"v"}}' },
  { method: 'GET', path: 'auth/token/lookup-self?%00=1' },
  { method: 'GET', path: 'secret/data/x?%ED%A0%80=1&version=%00' },
  { method: 'GET', path: 'secret/data/a%00b' },
  { method: 'POST', path: 'auth/userpass/login/a%00b', rawBody: '{"password":"x"}' },
];

describe('audit under hostile input (medium)', () => {
  let k: TestKernel | undefined;
  let server: HttpServerHandle | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await k?.close();
    k = undefined;
  });

  it('an attacker sending NUL and lone surrogates fails none of 16 clients, and every served request has both entries in the chain', async () => {
    let call: Call;
    let rootToken: string;
    ({ k, call, rootToken } = await openAuditedKernel({ databaseDevice: true }));
    // A file device too: with it, a failing chain once went unnoticed (the broker needed one device).
    expect((await call('PUT', 'sys/audit/siem', { type: 'file', options: { file_path: 'siem.log' } })).status).toBe(204);
    expect((await call('PUT', 'secret/data/app', { data: { password: 'pw' } })).status).toBe(200);
    const listener = buildConfig({}, {}, { listen: '127.0.0.1:0' }).listener;
    server = await createApiServer(apiModuleFor(kernelPipeline(k)), listener, createLogger('error'));
    const address = await server.listen();

    let stop = false;
    const attackerStatuses: number[] = [];
    const attacker = async () => {
      for (let i = 0; !stop; i++) {
        const h = HOSTILE[i % HOSTILE.length];
        attackerStatuses.push((await httpCall(address, h.method, h.path, { rawBody: h.rawBody, headers: { 'content-type': 'application/json' } })).status);
      }
    };
    const served: string[] = [];
    const failed: string[] = [];
    const client = async (c: number) => {
      for (let i = 0; i < 15; i++) {
        const res =
          i % 3 === 2
            ? await httpCall(address, 'PUT', `secret/data/c${c}`, { token: rootToken, body: { data: { n: String(i) } } })
            : await httpCall(address, 'GET', i % 3 === 0 ? 'secret/data/app' : 'auth/token/lookup-self', { token: rootToken });
        if (res.status === 200) served.push(res.body.request_id as string);
        else failed.push(`${res.status} ${res.text}`);
      }
    };
    const attackers = Array.from({ length: 4 }, attacker);
    await Promise.all(Array.from({ length: 16 }, (_, c) => client(c)));
    stop = true;
    await Promise.all(attackers);

    expect(failed).toEqual([]);
    expect(served).toHaveLength(16 * 15);
    expect(attackerStatuses.length).toBeGreaterThan(HOSTILE.length);
    expect(attackerStatuses.filter((s) => s >= 500)).toEqual([]);
    const rows: { correlation_id: string; types: string }[] = await k.dataSource.query(
      "SELECT correlation_id, string_agg(event_type, ',' ORDER BY event_type) AS types FROM audit_logs WHERE correlation_id = ANY($1) GROUP BY correlation_id",
      [served],
    );
    expect(rows).toHaveLength(served.length);
    expect(rows.filter((r) => r.types !== 'request,response')).toEqual([]);

    // The refused characters are in the chained bytes exactly as sent (JSON escapes), and in the projection as escape text.
    const [nul]: { n: number }[] = await k.dataSource.query(
      "SELECT count(*)::int AS n FROM audit_logs WHERE position('\\u0000' in convert_from(entry_bytes, 'UTF8')) > 0 AND event_data::text LIKE '%\\\\u0000%'",
    );
    expect(nul.n).toBeGreaterThan(0);
    const [surrogate]: { n: number }[] = await k.dataSource.query(
      "SELECT count(*)::int AS n FROM audit_logs WHERE position('\\ud800' in convert_from(entry_bytes, 'UTF8')) > 0",
    );
    expect(surrogate.n).toBeGreaterThan(0);
    expect(await verifyThroughApi(call)).toMatchObject({ ok: true });
  });

  it('an entry the database refuses fails only its own append: the others in its batch commit', async () => {
    let call: Call;
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    const chain = k.audit.chain;
    const entry = (n: number, eventData = JSON.stringify({ n })): ChainEntry => ({
      bytes: Buffer.from(JSON.stringify({ n })),
      time: new Date(),
      columns: bareColumns('test', randomUUID()),
      eventData,
    });
    const appends: Promise<void>[] = [];
    // Queued in one turn: one batch, the refused entry (jsonb refuses \u0000) in the middle of a two-entry append.
    for (let i = 0; i < 40; i++) appends.push(i === 20 ? chain.appendAll([entry(i), entry(1000, '{"\\u0000":1}')]) : chain.append(entry(i)));
    const outcomes = await Promise.allSettled(appends);
    expect(outcomes.map((o, i) => (o.status === 'rejected' ? i : -1)).filter((i) => i >= 0)).toEqual([20]);
    const [{ n }]: { n: number }[] = await k.dataSource.query("SELECT count(*)::int AS n FROM audit_logs WHERE event_type = 'test'");
    expect(n).toBe(39);
    expect(await verifyThroughApi(call)).toMatchObject({ ok: true });
  });

  it('the database device is required unless required=false: a file device alone does not answer', async () => {
    let call: Call;
    ({ k, call } = await openAuditedKernel({ databaseDevice: true }));
    expect((await call('PUT', 'sys/audit/siem', { type: 'file', options: { file_path: 'siem.log', required: 'false' } })).status).toBe(204);
    expect((await call('PUT', 'sys/audit/bad', { type: 'file', options: { file_path: 'bad.log', required: 'maybe' } })).json).toEqual({
      errors: ['required must be a boolean'],
    });
    expect((await call('PUT', 'secret/data/app', { data: { password: 'pw' } })).status).toBe(200);
    const unwritable = () => k!.dataSource.query('ALTER TABLE audit_logs ADD CONSTRAINT audit_unwritable CHECK (false) NOT VALID');
    const writable = () => k!.dataSource.query('ALTER TABLE audit_logs DROP CONSTRAINT audit_unwritable');

    await unwritable();
    const refused = await call('GET', 'secret/data/app');
    expect(refused.status).toBe(500);
    expect(refused.json).toEqual({ errors: ['internal error'] });
    await writable();

    expect((await call('DELETE', 'sys/audit/chain')).status).toBe(204);
    expect((await call('PUT', 'sys/audit/chain', { type: 'database', options: { required: 'false' } })).status).toBe(204);
    await unwritable();
    expect((await call('GET', 'secret/data/app')).status).toBe(200);
    await writable();
    const last = readFileSync(join(k.auditConfig.fileDir, 'siem.log'), 'utf8').trim().split('\n').pop() as string;
    expect(JSON.parse(last)).toMatchObject({ type: 'response', request: { path: 'secret/data/app' } });
  });
});
