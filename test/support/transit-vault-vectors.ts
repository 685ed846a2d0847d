/**
 * Transit data made by HashiCorp Vault itself (or in Vault's format by its users), for the
 * compatibility tests of backups, restore and export. Each vector says where it was published.
 */

/**
 * A Vault 1.11.4 backup (`vault read transit/backup/test-key`) of an aes256-gcm96 key, and a
 * ciphertext that Vault made with it, whose plaintext is "test". Published in a public Go test that
 * restores it into a `vault:1.11.4` container (`vault write transit/restore/test-topic backup=...`)
 * and checks `TransitDecryptString(..., "vault:v1:QPRzx8HS54xZB2v/7KpBnIojMOulGuudYz12Z2x08rg=")`
 * returns "test" (a GitHub file using github.com/mittwald/vaultgo and testcontainers, var
 * TestTransitKey; found through the code index, id 2054075905).
 */
export const VAULT_AES256_BACKUP = {
  backup:
    'eyJwb2xpY3kiOnsibmFtZSI6InRlc3Qta2V5Iiwia2V5cyI6eyIxIjp7ImtleSI6InEyRU9ra0JhaTFpYkNtSE1RR3RocGQ4TEJodWs1Z3ZWZVRoRzY0ZW84YkE9IiwiaG1hY19rZXkiOiJrQk9maTlkNjl2L1QvbjYvMGg1WU9hUlRUVUZtejE4Q3ZCMFg0UlJiQ2hJPSIsInRpbWUiOiIyMDIzLTAyLTEzVDE1OjQyOjQ2Ljk3NDU4OTM2MVoiLCJlY194IjpudWxsLCJlY195IjpudWxsLCJlY19kIjpudWxsLCJyc2Ffa2V5IjpudWxsLCJwdWJsaWNfa2V5IjoiIiwiY29udmVyZ2VudF92ZXJzaW9uIjowLCJjcmVhdGlvbl90aW1lIjoxNjc2MzAyOTY2fX0sImRlcml2ZWQiOmZhbHNlLCJrZGYiOjAsImNvbnZlcmdlbnRfZW5jcnlwdGlvbiI6ZmFsc2UsImV4cG9ydGFibGUiOnRydWUsIm1pbl9kZWNyeXB0aW9uX3ZlcnNpb24iOjEsIm1pbl9lbmNyeXB0aW9uX3ZlcnNpb24iOjAsImxhdGVzdF92ZXJzaW9uIjoxLCJhcmNoaXZlX3ZlcnNpb24iOjEsImFyY2hpdmVfbWluX3ZlcnNpb24iOjAsIm1pbl9hdmFpbGFibGVfdmVyc2lvbiI6MCwiZGVsZXRpb25fYWxsb3dlZCI6ZmFsc2UsImNvbnZlcmdlbnRfdmVyc2lvbiI6MCwidHlwZSI6MCwiYmFja3VwX2luZm8iOnsidGltZSI6IjIwMjMtMDItMTNUMTU6NTA6MjcuNzYwODE0ODcyWiIsInZlcnNpb24iOjF9LCJyZXN0b3JlX2luZm8iOm51bGwsImFsbG93X3BsYWludGV4dF9iYWNrdXAiOnRydWUsInZlcnNpb25fdGVtcGxhdGUiOiIiLCJzdG9yYWdlX3ByZWZpeCI6IiIsImF1dG9fcm90YXRlX3BlcmlvZCI6MCwiSW1wb3J0ZWQiOmZhbHNlLCJBbGxvd0ltcG9ydGVkS2V5Um90YXRpb24iOmZhbHNlfSwiYXJjaGl2ZWRfa2V5cyI6eyJrZXlzIjpbeyJrZXkiOm51bGwsImhtYWNfa2V5IjpudWxsLCJ0aW1lIjoiMDAwMS0wMS0wMVQwMDowMDowMFoiLCJlY194IjpudWxsLCJlY195IjpudWxsLCJlY19kIjpudWxsLCJyc2Ffa2V5IjpudWxsLCJwdWJsaWNfa2V5IjoiIiwiY29udmVyZ2VudF92ZXJzaW9uIjowLCJjcmVhdGlvbl90aW1lIjowfSx7ImtleSI6InEyRU9ra0JhaTFpYkNtSE1RR3RocGQ4TEJodWs1Z3ZWZVRoRzY0ZW84YkE9IiwiaG1hY19rZXkiOiJrQk9maTlkNjl2L1QvbjYvMGg1WU9hUlRUVUZtejE4Q3ZCMFg0UlJiQ2hJPSIsInRpbWUiOiIyMDIzLTAyLTEzVDE1OjQyOjQ2Ljk3NDU4OTM2MVoiLCJlY194IjpudWxsLCJlY195IjpudWxsLCJlY19kIjpudWxsLCJyc2Ffa2V5IjpudWxsLCJwdWJsaWNfa2V5IjoiIiwiY29udmVyZ2VudF92ZXJzaW9uIjowLCJjcmVhdGlvbl90aW1lIjoxNjc2MzAyOTY2fV19fQo=',
  /** The key inside the backup (policy.keys["1"].key), what export/encryption-key must show. */
  key: 'q2EOkkBai1ibCmHMQGthpd8LBhuk5gvVeThG64eo8bA=',
  hmacKey: 'kBOfi9d69v/T/n6/0h5YOaRTTUFmz18CvB0X4RRbChI=',
  ciphertext: 'vault:v1:QPRzx8HS54xZB2v/7KpBnIojMOulGuudYz12Z2x08rg=',
  plaintext: 'test',
};

/**
 * An ed25519 key in Vault's backup format (policy `type` 2), as a public tutorial restores it into
 * Vault (`vault write transit/restore/<key_name> backup=...`, a TezosApiGateway README "How to
 * import an existing Tezos account in vault", code index id 27383157261); the document is Vault's
 * own backup of a key with its key bytes replaced by a Tezos account's (edsk… / edpk…). The key's
 * public half and `public_key` are the account's public key.
 */
export const VAULT_ED25519_BACKUP = {
  backup:
    'eyJwb2xpY3kiOnsibmFtZSI6ImFobWVkIiwia2V5cyI6eyIxIjp7ImtleSI6IjNCWXEwN3lxZnpaeURJcTFNVlBGVHl1L3d6OXM5aDlRcUloVWhLdWkzZkdXa2ZJcXhlN0FZRmx6TDBoekc1eERNMmZNSllleGNFSElqaXhTQ1JESlN3PT0iLCJobWFjX2tleSI6InZJZUNGL1hRa2VmaXVOWEt0bUJLQVFSakx3YmtJaVF5dzIxbjl3M3BCQUk9IiwidGltZSI6IjIwMjEtMDQtMjZUMTQ6MDE6NTcuMTg1MzU0OTM2WiIsImVjX3giOm51bGwsImVjX3kiOm51bGwsImVjX2QiOm51bGwsInJzYV9rZXkiOm51bGwsInB1YmxpY19rZXkiOiJscEh5S3NYdXdHQlpjeTlJY3h1Y1F6Tm56Q1dIc1hCQnlJNHNVZ2tReVVzPSIsImNvbnZlcmdlbnRfdmVyc2lvbiI6MCwiY3JlYXRpb25fdGltZSI6MTYxOTQ0NTcxN319LCJkZXJpdmVkIjpmYWxzZSwia2RmIjowLCJjb252ZXJnZW50X2VuY3J5cHRpb24iOmZhbHNlLCJleHBvcnRhYmxlIjp0cnVlLCJtaW5fZGVjcnlwdGlvbl92ZXJzaW9uIjoxLCJtaW5fZW5jcnlwdGlvbl92ZXJzaW9uIjowLCJsYXRlc3RfdmVyc2lvbiI6MSwiYXJjaGl2ZV92ZXJzaW9uIjoxLCJhcmNoaXZlX21pbl92ZXJzaW9uIjowLCJtaW5fYXZhaWxhYmxlX3ZlcnNpb24iOjAsImRlbGV0aW9uX2FsbG93ZWQiOmZhbHNlLCJjb252ZXJnZW50X3ZlcnNpb24iOjAsInR5cGUiOjIsImJhY2t1cF9pbmZvIjp7InRpbWUiOiIyMDIxLTA0LTI2VDE0OjAyOjIzLjY4ODU5MDU4OFoiLCJ2ZXJzaW9uIjoxfSwicmVzdG9yZV9pbmZvIjpudWxsLCJhbGxvd19wbGFpbnRleHRfYmFja3VwIjp0cnVlLCJ2ZXJzaW9uX3RlbXBsYXRlIjoiIiwic3RvcmFnZV9wcmVmaXgiOiIifSwiYXJjaGl2ZWRfa2V5cyI6eyJrZXlzIjpbeyJrZXkiOm51bGwsImhtYWNfa2V5IjpudWxsLCJ0aW1lIjoiMDAwMS0wMS0wMVQwMDowMDowMFoiLCJlY194IjpudWxsLCJlY195IjpudWxsLCJlY19kIjpudWxsLCJyc2Ffa2V5IjpudWxsLCJwdWJsaWNfa2V5IjoiIiwiY29udmVyZ2VudF92ZXJzaW9uIjowLCJjcmVhdGlvbl90aW1lIjowfSx7ImtleSI6IjNCWXEwN3lxZnpaeURJcTFNVlBGVHl1L3d6OXM5aDlRcUloVWhLdWkzZkdXa2ZJcXhlN0FZRmx6TDBoekc1eERNMmZNSllleGNFSElqaXhTQ1JESlN3PT0iLCJobWFjX2tleSI6InZJZUNGL1hRa2VmaXVOWEt0bUJLQVFSakx3YmtJaVF5dzIxbjl3M3BCQUk9IiwidGltZSI6IjIwMjEtMDQtMjZUMTQ6MDE6NTcuMTg1MzU0OTM2WiIsImVjX3giOm51bGwsImVjX3kiOm51bGwsImVjX2QiOm51bGwsInJzYV9rZXkiOm51bGwsInB1YmxpY19rZXkiOiJscEh5S3NYdXdHQlpjeTlJY3h1Y1F6Tm56Q1dIc1hCQnlJNHNVZ2tReVVzPSIsImNvbnZlcmdlbnRfdmVyc2lvbiI6MCwiY3JlYXRpb25fdGltZSI6MTYxOTQ0NTcxN31dfX0K',
  key: '3BYq07yqfzZyDIq1MVPFTyu/wz9s9h9QqIhUhKui3fGWkfIqxe7AYFlzL0hzG5xDM2fMJYexcEHIjixSCRDJSw==',
  publicKey: 'lpHyKsXuwGBZcy9IcxucQzNnzCWHsXBByI4sUgkQyUs=',
};

/**
 * A Vault (January 2018) backup of an ecdsa-p256 key: `ec_x`, `ec_y`, `ec_d` are 77-digit JSON
 * numbers, and `public_key` is the PEM Vault computed from them. Published as
 * cabotage/cabotage-app docker-compose/cabotage-app/pki/cabotage-vault-key.backup (commit
 * 358b07f55cd6befed9865394e17049afcd914cb6), which its dev setup restores with
 * `vault write transit/restore/cabotage-app backup=...`.
 */
export const VAULT_ECDSA_P256_BACKUP = {
  backup:
    'eyJwb2xpY3kiOnsibmFtZSI6ImNhYm90YWdlLWFwcCIsImtleXMiOnsiMSI6eyJrZXkiOm51bGwsImhtYWNfa2V5IjoieGdvbjFjbTA5RUJ6VW1XMDdCdWVMaFFIcjFLekswbmg4WktaU2dXRW4xYz0iLCJ0aW1lIjoiMjAxOC0wMS0yN1QxMTo0ODowOS4wNTQ1NzAwNzVaIiwiZWNfeCI6NzQ2Nzc4MDM5ODI3OTM1NTAxMTczNzEzNzE0NTQ0NTc0NDkxNzA3NzA1MzY2MjY3OTI2OTgwNjU1ODc4MTk3MDMyMzI4MzYwMzMwMjIsImVjX3kiOjgxOTA1NDQyNTcyNjEzMjkwMjcwMTk1NzAyOTg3NzQyMTYzMTE5MzU3NTI1OTAyMTk2MTQ5NjQzMDc0ODQxMDk3MjI2MDMwNTIzNTkwLCJlY19kIjo2ODUyMDkxMzQ3MzU5MjAwNjYxNDQyODkzODIzOTcxNjk1ODk0ODIwNjM4MjE4ODQ2ODMyMDg2MzE1OTU0OTEwNjQ0MDczNTMwNjI3NywicnNhX2tleSI6bnVsbCwicHVibGljX2tleSI6Ii0tLS0tQkVHSU4gUFVCTElDIEtFWS0tLS0tXG5NRmt3RXdZSEtvWkl6ajBDQVFZSUtvWkl6ajBEQVFjRFFnQUVwUm9qb29jdjQrbVpkN3FTWk9vN0FFaVZYZzhRXG4zRUtOMlhwOEpPRmFXZjYxRk5aeHByQXYrd2pTYlh2S2dGM2ovNitLelJNV1IyWVc2TmdFNXVXa3hnPT1cbi0tLS0tRU5EIFBVQkxJQyBLRVktLS0tLVxuIiwiY3JlYXRpb25fdGltZSI6MTUxNzA1MzY4OX19LCJkZXJpdmVkIjpmYWxzZSwia2RmIjowLCJjb252ZXJnZW50X2VuY3J5cHRpb24iOmZhbHNlLCJleHBvcnRhYmxlIjp0cnVlLCJtaW5fZGVjcnlwdGlvbl92ZXJzaW9uIjoxLCJtaW5fZW5jcnlwdGlvbl92ZXJzaW9uIjowLCJsYXRlc3RfdmVyc2lvbiI6MSwiYXJjaGl2ZV92ZXJzaW9uIjoxLCJkZWxldGlvbl9hbGxvd2VkIjpmYWxzZSwiY29udmVyZ2VudF92ZXJzaW9uIjowLCJ0eXBlIjoxLCJiYWNrdXBfaW5mbyI6eyJ0aW1lIjoiMjAxOC0wMS0yN1QxMTo0ODoxMS44MjE2OTgyODVaIiwidmVyc2lvbiI6MX0sInJlc3RvcmVfaW5mbyI6bnVsbCwiYWxsb3dfcGxhaW50ZXh0X2JhY2t1cCI6dHJ1ZX0sImFyY2hpdmVkX2tleXMiOnsia2V5cyI6W3sia2V5IjpudWxsLCJobWFjX2tleSI6bnVsbCwidGltZSI6IjAwMDEtMDEtMDFUMDA6MDA6MDBaIiwiZWNfeCI6bnVsbCwiZWNfeSI6bnVsbCwiZWNfZCI6bnVsbCwicnNhX2tleSI6bnVsbCwicHVibGljX2tleSI6IiIsImNyZWF0aW9uX3RpbWUiOjB9LHsia2V5IjpudWxsLCJobWFjX2tleSI6Inhnb24xY20wOUVCelVtVzA3QnVlTGhRSHIxS3pLMG5oOFpLWlNnV0VuMWM9IiwidGltZSI6IjIwMTgtMDEtMjdUMTE6NDg6MDkuMDU0NTcwMDc1WiIsImVjX3giOjc0Njc3ODAzOTgyNzkzNTUwMTE3MzcxMzcxNDU0NDU3NDQ5MTcwNzcwNTM2NjI2NzkyNjk4MDY1NTg3ODE5NzAzMjMyODM2MDMzMDIyLCJlY195Ijo4MTkwNTQ0MjU3MjYxMzI5MDI3MDE5NTcwMjk4Nzc0MjE2MzExOTM1NzUyNTkwMjE5NjE0OTY0MzA3NDg0MTA5NzIyNjAzMDUyMzU5MCwiZWNfZCI6Njg1MjA5MTM0NzM1OTIwMDY2MTQ0Mjg5MzgyMzk3MTY5NTg5NDgyMDYzODIxODg0NjgzMjA4NjMxNTk1NDkxMDY0NDA3MzUzMDYyNzcsInJzYV9rZXkiOm51bGwsInB1YmxpY19rZXkiOiItLS0tLUJFR0lOIFBVQkxJQyBLRVktLS0tLVxuTUZrd0V3WUhLb1pJemowQ0FRWUlLb1pJemowREFRY0RRZ0FFcFJvam9vY3Y0K21aZDdxU1pPbzdBRWlWWGc4UVxuM0VLTjJYcDhKT0ZhV2Y2MUZOWnhwckF2K3dqU2JYdktnRjNqLzYrS3pSTVdSMllXNk5nRTV1V2t4Zz09XG4tLS0tLUVORCBQVUJMSUMgS0VZLS0tLS1cbiIsImNyZWF0aW9uX3RpbWUiOjE1MTcwNTM2ODl9XX19Cg==',
  publicKey:
    '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEpRojoocv4+mZd7qSZOo7AEiVXg8Q\n3EKN2Xp8JOFaWf61FNZxprAv+wjSbXvKgF3j/6+KzRMWR2YW6NgE5uWkxg==\n-----END PUBLIC KEY-----\n',
  hmacKey: 'xgon1cm09EBzUmW07BueLhQHr1KzK0nh8ZKZSgWEn1c=',
};

/**
 * Vault's Go JSON for one ECDSA or RSA version, built from a key that openssl generated and printed
 * (`openssl pkey -text -noout`): the decimal integers Go's big.Int writes, in keysutil's KeyEntry
 * shape. `policyType` is keysutil's KeyType number. Nothing of the code under test takes part.
 */
export function vaultBackupOfOpensslKey(policyType: number, name: string, entryJson: string): string {
  const entry = `{"key":null,"hmac_key":"kBOfi9d69v/T/n6/0h5YOaRTTUFmz18CvB0X4RRbChI=","time":"2024-03-01T10:00:00.123456789Z",${entryJson},"public_key":"","convergent_version":0,"creation_time":1709287200}`;
  const policy =
    `{"name":"${name}","keys":{"1":${entry}},"derived":false,"kdf":0,"convergent_encryption":false,"exportable":true,` +
    `"min_decryption_version":1,"min_encryption_version":0,"latest_version":1,"archive_version":1,"archive_min_version":0,` +
    `"min_available_version":0,"deletion_allowed":false,"convergent_version":0,"type":${policyType},"backup_info":null,` +
    `"restore_info":null,"allow_plaintext_backup":true,"version_template":"","storage_prefix":"","auto_rotate_period":0,` +
    `"Imported":false,"AllowImportedKeyRotation":false}`;
  const empty = `{"key":null,"hmac_key":null,"time":"0001-01-01T00:00:00Z","ec_x":null,"ec_y":null,"ec_d":null,"rsa_key":null,"public_key":"","convergent_version":0,"creation_time":0}`;
  return Buffer.from(`{"policy":${policy},"archived_keys":{"keys":[${empty},${entry}]}}\n`, 'utf8').toString('base64');
}

/** The named hex field of `openssl pkey -text -noout` output (e.g. "priv", "modulus"), as a decimal string. */
export function opensslTextInteger(text: string, field: string): string {
  const match = new RegExp(`^${field}:\\s*\\n((?:\\s+[0-9a-f:]+\\n)+)`, 'm').exec(text);
  if (!match) throw new Error(`no ${field} in openssl output`);
  return BigInt(`0x${match[1].replace(/[\s:]/g, '')}`).toString(10);
}

/** The named decimal field of `openssl pkey -text -noout` output for small values ("publicExponent: 65537 (0x10001)"). */
export function opensslTextSmallInteger(text: string, field: string): string {
  const match = new RegExp(`^${field}: (\\d+)`, 'm').exec(text);
  if (!match) throw new Error(`no ${field} in openssl output`);
  return match[1];
}
