/**
 * cfssl (Debian package golang-cfssl) as the pki scenarios' comparison: `cfssl serve` with an EC
 * P-256 CA made by openssl, issuing through `POST /api/v1/cfssl/newcert` (a new key and a
 * certificate, as SecretHub's `pki/issue`). Absent cfssl: the scenarios run without a comparison.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes';

export interface Cfssl {
  baseUrl: string;
  pid: number;
  stop(): Promise<void>;
}

export function cfsslInstalled(): boolean {
  return spawnSync('cfssl', ['version'], { stdio: 'ignore' }).status === 0;
}

export async function startCfssl(): Promise<Cfssl> {
  const dir = mkdtempSync(join(tmpdir(), 'secrethub-bench-cfssl-'));
  const key = join(dir, 'ca-key.pem');
  const cert = join(dir, 'ca.pem');
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  run(['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', key]);
  run([
    'req',
    '-x509',
    '-new',
    '-key',
    key,
    '-out',
    cert,
    '-subj',
    '/CN=bench cfssl CA',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ signing: { default: { expiry: '1h', usages: ['signing', 'key encipherment', 'server auth', 'client auth'] } } }));
  const port = await freePort();
  const child: ChildProcess = spawn(
    'cfssl',
    ['serve', '-address', '127.0.0.1', '-port', String(port), '-ca', cert, '-ca-key', key, '-config', config, '-loglevel', '4'],
    { stdio: 'ignore' },
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await fetch(`${baseUrl}/api/v1/cfssl/info`, { method: 'POST', body: '{}' }).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('cfssl serve did not start in 15 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    baseUrl,
    pid: child.pid as number,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** cfssl's newcert request for one host with a key of this kind. */
export function cfsslNewCertBody(host: string, key: { algo: 'ecdsa' | 'rsa'; size: number }): string {
  return JSON.stringify({ request: { CN: host, hosts: [host], key } });
}
