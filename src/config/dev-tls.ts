/**
 * `server --dev-tls` (Vault's `-dev-tls`): a throw-away CA and a server certificate for the dev
 * listener, made with SecretHub's own X.509 code and written as Vault names them: `vault-ca.pem`,
 * `vault-cert.pem` (the server certificate, then the CA) and `vault-key.pem` (mode 0600).
 *
 * Invariants: the CA key exists only in memory while the files are made (nothing can be issued
 * under it afterwards); the server certificate names localhost, 127.0.0.1 and ::1 (plus the
 * listener's host when it is another name or address) and lives 24 hours; a directory the
 * operator did not name is created fresh and is the caller's to remove.
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { softwareSigner } from '../crypto/signer';
import { buildCertificate, EKU, encodeName, randomSerial, toPem } from '../crypto/x509/certificate';
import { generateKeyPair, privateKeyPem } from '../crypto/x509/keys';

export interface DevTlsFiles {
  dir: string;
  /** True when the directory was made here (remove it at exit). */
  temporary: boolean;
  caFile: string;
  certFile: string;
  keyFile: string;
}

const DAY = 24 * 3600 * 1000;

export async function writeDevTlsFiles(certDir: string | undefined, listenerHost: string): Promise<DevTlsFiles> {
  const dir = certDir ? resolve(certDir) : mkdtempSync(join(tmpdir(), 'secrethub-dev-tls-'));
  if (certDir) mkdirSync(dir, { recursive: true });
  const now = Date.now();
  const caKey = await generateKeyPair('ec', 256);
  const caSubject = { commonName: 'SecretHub dev-tls CA' };
  const caDer = await buildCertificate({
    serial: randomSerial(),
    subject: caSubject,
    issuer: { nameDer: encodeName(caSubject), signer: softwareSigner(caKey.privateKey) },
    publicKey: caKey.publicKey,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + DAY),
    isCa: true,
    maxPathLength: 0,
    keyUsage: ['keyCertSign', 'cRLSign'],
    extKeyUsage: [],
  });
  const key = await generateKeyPair('ec', 256);
  const dnsNames = ['localhost'];
  const ipAddresses = ['127.0.0.1', '::1'];
  const host = listenerHost.trim();
  if (host && host !== '0.0.0.0' && host !== '::') {
    if (isIP(host) && !ipAddresses.includes(host)) ipAddresses.push(host);
    else if (!isIP(host) && !dnsNames.includes(host.toLowerCase())) dnsNames.push(host.toLowerCase());
  }
  const certDer = await buildCertificate({
    serial: randomSerial(),
    subject: { commonName: 'localhost' },
    // buildCertificate derives the authority key id from the CA key, as it derived the CA's own.
    issuer: { nameDer: encodeName(caSubject), signer: softwareSigner(caKey.privateKey) },
    publicKey: key.publicKey,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + DAY - 60_000),
    isCa: false,
    keyUsage: ['digitalSignature'],
    extKeyUsage: [EKU.serverAuth],
    dnsNames,
    ipAddresses,
  });
  const files = { dir, temporary: !certDir, caFile: join(dir, 'vault-ca.pem'), certFile: join(dir, 'vault-cert.pem'), keyFile: join(dir, 'vault-key.pem') };
  writeFileSync(files.caFile, toPem(caDer, 'CERTIFICATE'));
  writeFileSync(files.certFile, toPem(certDer, 'CERTIFICATE') + toPem(caDer, 'CERTIFICATE'));
  writeFileSync(files.keyFile, privateKeyPem(key.privateKey, 'pkcs8'), { mode: 0o600 });
  chmodSync(files.keyFile, 0o600);
  return files;
}
