/**
 * The embedded PostgreSQL works for a normal (non-root) user too. Run as root (as CI is), this
 * starts the server as an unprivileged OS user; run as a normal user, it is that user.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call } from '../support/http';
import { startServerProcess } from '../support/server-process';

jest.setTimeout(180_000);

function idsOf(name: string): { uid: number; gid: number } | undefined {
  try {
    return { uid: Number(execFileSync('id', ['-u', name]).toString()), gid: Number(execFileSync('id', ['-g', name]).toString()) };
  } catch {
    return undefined;
  }
}

describe('embedded PostgreSQL as a normal user (e2e)', () => {
  it('initialises, unseals and restarts with a data dir owned by a non-root user', async () => {
    const root = process.getuid?.() === 0;
    const ids = root ? (idsOf('postgres') ?? idsOf('nobody')) : undefined;
    if (root) expect(ids).toBeDefined();
    const dataDir = mkdtempSync(join(tmpdir(), 'secrethub-user-'));
    if (ids) chownSync(dataDir, ids.uid, ids.gid);
    try {
      let server = await startServerProcess({ dataDir, uid: ids?.uid, gid: ids?.gid });
      const init = (await call(server.address, 'PUT', 'sys/init', { body: { secret_shares: 1, secret_threshold: 1 } })).body;
      expect((await call(server.address, 'PUT', 'sys/unseal', { body: { key: init.keys[0] } })).body.sealed).toBe(false);
      expect(await server.stop()).toBe(0);
      server = await startServerProcess({ dataDir, uid: ids?.uid, gid: ids?.gid });
      expect((await call(server.address, 'PUT', 'sys/unseal', { body: { key: init.keys[0] } })).body.sealed).toBe(false);
      expect(await server.stop()).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
