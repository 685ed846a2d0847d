/**
 * Certificate encoding throughput: `node scripts/ensure-built.cjs && node dist/bench/x509-encode.js [count]`.
 *
 * Builds and signs `count` (default 2,000) EC P-256 leaf certificates (serverAuth+clientAuth, two
 * DNS names and one IP SAN, AIA/CRL URLs) with one EC P-256 issuer, on one thread. Keys are made
 * beforehand, one per certificate as in real issuance (so each certificate pays for exporting its
 * key's SPKI and hashing its SKI; the issuer's AKI is cached after the first) — the figure is
 * encoding and signing only. Prints certificates per second (wall clock, and per second of this
 * process's CPU time, which other load on the machine disturbs less) for each of three rounds
 * after a warm-up, each round with fresh keys.
 */
import { buildCertificate, encodeName, EKU, randomSerial, type CertificateSpec } from '../src/crypto/x509/certificate';
import { softwareSigner } from '../src/crypto/signer';
import { generateKeyPair, type KeyPair } from '../src/crypto/x509/keys';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 2000);
  const issuer = await generateKeyPair('ec', 256);
  const issuerNameDer = encodeName({ commonName: 'Bench Intermediate', organization: ['SecretHub'] });
  const leafKeysFor = async (n: number): Promise<KeyPair[]> => {
    const keys: KeyPair[] = [];
    for (let i = 0; i < n; i++) keys.push(await generateKeyPair('ec', 256));
    return keys;
  };
  const notBefore = new Date();
  const notAfter = new Date(notBefore.getTime() + 30 * 24 * 3600 * 1000);

  const specFor = (i: number, leafKey: KeyPair): CertificateSpec => ({
    serial: randomSerial(),
    subject: { commonName: `host-${i}.example.com` },
    issuer: { nameDer: issuerNameDer, signer: softwareSigner(issuer.privateKey) },
    publicKey: leafKey.publicKey,
    notBefore,
    notAfter,
    isCa: false,
    keyUsage: ['digitalSignature', 'keyAgreement'],
    extKeyUsage: [EKU.serverAuth, EKU.clientAuth],
    dnsNames: [`host-${i}.example.com`, 'example.com'],
    ipAddresses: ['10.0.0.1'],
    issuingCertificateUrls: ['https://vault.example.com/v1/pki/ca'],
    crlDistributionPoints: ['https://vault.example.com/v1/pki/crl'],
  });

  /** Certificates per wall-clock second and per second of this process's CPU time. */
  const run = async (n: number): Promise<{ wall: number; cpu: number }> => {
    const leafKeys = await leafKeysFor(n);
    const started = process.hrtime.bigint();
    const cpuStarted = process.cpuUsage();
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += (await buildCertificate(specFor(i, leafKeys[i]))).length;
    const cpu = process.cpuUsage(cpuStarted);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (bytes === 0) throw new Error('no output');
    return { wall: n / seconds, cpu: n / ((cpu.user + cpu.system) / 1e6) };
  };

  await run(Math.min(500, count));
  for (let round = 1; round <= 3; round++) {
    const { wall, cpu } = await run(count);
    process.stdout.write(`round ${round}: ${Math.round(wall)} certs/s wall, ${Math.round(cpu)} per CPU-second (${count} EC P-256 leaves, EC P-256 issuer)\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
