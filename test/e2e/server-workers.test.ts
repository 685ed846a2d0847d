/**
 * `secrethub server --workers 2` as one Vault node over HTTP: shares sent to either worker make one
 * progress, and the threshold unseals both; a wrong key resets the progress everywhere; seal-status is
 * the same from each; sys/seal on one seals both; a worker killed with -9 is replaced and unsealed
 * without the operators; SIGTERM drains (an in-flight request completes) and exits 0; a parent
 * killed with -9 leaves no worker behind.
 */
import { connect, createServer } from 'node:net';
import { createTestDatabase } from '../support/database';
import { freePort, startServerProcess, type ServerProcess } from '../support/server-process';
import { until } from '../support/wait';
import { alive, fromBoth, fromEach, send, startNode, workerPids } from '../support/workers';

jest.setTimeout(240_000);

describe('server --workers 2 (e2e)', () => {
  let server: ServerProcess | undefined;

  afterAll(async () => {
    await server?.kill9();
  });

  it('one unseal progress, one seal, replacement and drain', async () => {
    const node = (server = await startNode());
    const { port } = node;
    const init = await send(port, 'PUT', 'sys/init', { body: { secret_shares: 3, secret_threshold: 2 } });
    expect(init.status).toBe(200);
    const { keys, root_token: rootToken } = init.body as { keys: string[]; root_token: string };

    // The same share sent to both workers counts once, toward one progress with one nonce.
    const first = await fromBoth(port, 'PUT', 'sys/unseal', { body: { key: keys[0] } });
    const nonces = [...first.values()].map((a) => a.body.nonce);
    expect([...first.values()].map((a) => a.body.progress)).toEqual([1, 1]);
    expect(nonces[0]).not.toBe('');
    expect(nonces[1]).toBe(nonces[0]);
    const statuses = await fromBoth(port, 'GET', 'sys/seal-status');
    expect(statuses.get(1)?.body).toEqual(statuses.get(2)?.body);
    expect(statuses.get(1)?.body).toMatchObject({ sealed: true, progress: 1, nonce: nonces[0] });

    // A wrong second share: Vault's error, and the progress is reset on every worker.
    const wrong = Buffer.from(keys[1], 'hex');
    wrong[0] ^= 0xff;
    const failed = await send(port, 'PUT', 'sys/unseal', { body: { key: wrong.toString('hex') } });
    expect(failed.status).toBe(400);
    expect(failed.body).toEqual({ errors: ['unseal failed, invalid key'] });
    for (const answer of (await fromBoth(port, 'GET', 'sys/seal-status')).values()) expect(answer.body).toMatchObject({ sealed: true, progress: 0, nonce: '' });

    // Shares on different workers (the listener alternates) unseal the whole node.
    expect((await send(port, 'PUT', 'sys/unseal', { body: { key: keys[0] } })).body.progress).toBe(1);
    expect((await send(port, 'PUT', 'sys/unseal', { body: { key: keys[2] } })).body).toMatchObject({ sealed: false, progress: 0 });
    for (const answer of (await fromBoth(port, 'GET', 'sys/mounts', { token: rootToken })).values()) expect(answer.status).toBe(200);
    const unsealed = await fromBoth(port, 'GET', 'sys/seal-status');
    expect(unsealed.get(1)?.body).toEqual(unsealed.get(2)?.body);
    expect(unsealed.get(1)?.body.sealed).toBe(false);

    // kill -9 of a worker: the parent replaces it, unsealed, without the operators.
    const before = workerPids(server.output());
    process.kill(before.get(1) as number, 'SIGKILL');
    await until(async () => workerPids(node.output()).get(1) !== before.get(1), 30_000);
    await until(async () => {
      const answers = await fromEach(port, 'GET', 'sys/mounts', { token: rootToken });
      return answers.size === 2 && [...answers.values()].every((a) => a.status === 200);
    }, 60_000);
    expect(server.output()).toMatch(/worker 1 exited \(signal SIGKILL\); replacing it/);

    // sys/seal on one worker seals both, before it answers.
    expect((await send(port, 'PUT', 'sys/seal', { token: rootToken })).status).toBe(204);
    for (const answer of (await fromBoth(port, 'GET', 'sys/seal-status')).values()) expect(answer.body.sealed).toBe(true);
    for (const answer of (await fromBoth(port, 'GET', 'sys/mounts', { token: rootToken })).values()) expect(answer.status).toBe(503);

    // SIGTERM: an in-flight request completes, every worker drains, the node exits 0.
    const socket = connect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let response = '';
    socket.on('data', (d) => (response += d.toString()));
    const body = JSON.stringify({ reset: true });
    socket.write(
      `PUT /v1/sys/unseal HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 5)}`,
    );
    await new Promise((r) => setTimeout(r, 300));
    const pids = [...workerPids(server.output()).values()];
    const stopped = server.stop();
    await new Promise((r) => setTimeout(r, 300));
    socket.write(body.slice(5));
    await new Promise((r) => socket.once('close', r));
    expect(response).toMatch(/^HTTP\/1\.1 200/);
    expect(await stopped).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    expect(server.output()).toMatch(/worker 1 stopped \(code 0\)/);
    expect(server.output()).toMatch(/worker 2 stopped \(code 0\)/);
  });

  it('kill -9 of the parent: the workers exit by themselves', async () => {
    server = await startNode();
    const pids = [...workerPids(server.output()).values()];
    expect(pids).toHaveLength(2);
    expect(pids.every(alive)).toBe(true);
    await server.kill9();
    await until(async () => !pids.some(alive), 10_000);
  });

  it('a worker that cannot start stops the node with exit code 1 (no restart loop)', async () => {
    const port = await freePort();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      await expect(startServerProcess({ databaseUrl: await createTestDatabase(), port, args: ['--workers', '2'] })).rejects.toThrow(
        /exited with 1 before listening/,
      );
    } finally {
      taken.close();
    }
  });
});
