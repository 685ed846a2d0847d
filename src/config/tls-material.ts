/**
 * The listener's certificate chain, private key and client CAs, read from the files the
 * configuration names.
 *
 * Invariants: an error names the setting and the path and says what is wrong, never what the file
 * holds (the key parser's own message is dropped, not passed on). The files are read once when the
 * configuration is built, to fail before anything starts, and again when the listener is created;
 * the configuration object keeps paths only, never key bytes.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ListenerTlsConfig } from './config';
import { ConfigError } from './config-error';

const WHERE = 'listener "tcp"';
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g;

export interface TlsMaterial {
  /** The certificate blocks of tls_cert_file in file order (the server's first); other blocks are dropped. */
  cert: string[];
  /** tls_key_file as read: a PEM private key that matches cert[0]. */
  key: Buffer;
  /** The certificate blocks of tls_client_ca_file, when it is set. */
  ca?: string[];
}

function read(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`${WHERE}.${setting}: cannot read ${path}${code ? ` (${code})` : ''}`);
  }
}

/** Every PEM certificate in the file, each one parsed; at least one. */
function certificates(setting: string, path: string): { pems: string[]; parsed: X509Certificate[] } {
  const pems = read(setting, path).toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (pems.length === 0) throw new ConfigError(`${WHERE}.${setting}: ${path} holds no PEM certificate`);
  const parsed = pems.map((pem, i) => {
    try {
      return new X509Certificate(pem);
    } catch {
      throw new ConfigError(`${WHERE}.${setting}: certificate ${i + 1} in ${path} cannot be parsed`);
    }
  });
  return { pems, parsed };
}

function privateKey(path: string): { pem: Buffer; key: KeyObject } {
  const pem = read('tls_key_file', path);
  try {
    return { pem, key: createPrivateKey(pem) };
  } catch {
    pem.fill(0);
    throw new ConfigError(`${WHERE}.tls_key_file: ${path} holds no usable PEM private key (encrypted keys are not supported)`);
  }
}

/** Reads and checks the files; throws a ConfigError naming the first problem. */
export function loadTlsMaterial(tls: ListenerTlsConfig): TlsMaterial {
  const cert = certificates('tls_cert_file', tls.certFile);
  const { pem, key } = privateKey(tls.keyFile);
  if (!cert.parsed[0].checkPrivateKey(key)) {
    pem.fill(0);
    throw new ConfigError(`${WHERE}.tls_key_file: ${tls.keyFile} does not belong to the first certificate in ${tls.certFile}`);
  }
  const ca = tls.clientCaFile && tls.clientCerts !== 'none' ? certificates('tls_client_ca_file', tls.clientCaFile).pems : undefined;
  return { cert: cert.pems, key: pem, ca };
}

/** Checks the files as loadTlsMaterial does and keeps nothing (the key's bytes are overwritten). */
export function checkTlsMaterial(tls: ListenerTlsConfig): void {
  loadTlsMaterial(tls).key.fill(0);
}
