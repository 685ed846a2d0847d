import { isTransitHashAlgorithm, transitHash, TRANSIT_HASH_ALGORITHMS } from './hash';

/** Vault's own vectors (builtin/logical/transit/path_hash_test.go): "the quick brown fox". */
const INPUT = Buffer.from('dGhlIHF1aWNrIGJyb3duIGZveA==', 'base64');
const VAULT_SUMS: Record<string, string> = {
  'sha2-224': 'ea074a96cabc5a61f8298a2c470f019074642631a49e1c5e2f560865',
  'sha2-256': '9ecb36561341d18eb65484e833efea61edc74b84cf5e6ae1b81c63533e25fc8f',
  'sha2-384': '15af9ec8be783f25c583626e9491dbf129dd6dd620466fdf05b3a1d0bb8381d30f4d3ec29f923ff1e09a0f6b337365a6',
  'sha2-512': 'd9d380f29b97ad6a1d92e987d83fa5a02653301e1006dd2bcd51afa59a9147e9caedaf89521abc0f0b682adcd47fb512b8343c834a32f326fe9bef00542ce887',
  'sha3-224': 'ced91e69d89c837e87cff960bd64fd9b9f92325fb9add8988d33d007',
  'sha3-256': 'e4bd866ec3fa52df3b7842aa97b448bc859a7606cefcdad1715847f4b82a6c93',
  'sha3-384': '715cd38cbf8d0bab426b6a084d649760be555dd64b34de6db148a3fbf2cd2aa5d8b03eb6eda73a3e9a8769c00b4c2113',
  'sha3-512': 'f7cac5ad830422a5408b36a60a60620687be180765a3e2895bc3bdbd857c9e08246c83064d4e3612f0cb927f3ead208413ab98624bf7b0617af0f03f62080976',
};

describe('transit hash', () => {
  it.each(Object.keys(TRANSIT_HASH_ALGORITHMS))('%s gives the sum Vault gives', (name) => {
    expect(isTransitHashAlgorithm(name)).toBe(true);
    if (!isTransitHashAlgorithm(name)) return;
    expect(transitHash(name, INPUT).toString('hex')).toBe(VAULT_SUMS[name]);
  });

  it('knows no other names (sha1, md5, prototype keys)', () => {
    for (const name of ['sha1', 'md5', 'sha256', 'SHA2-256', 'toString', '__proto__', '']) expect(isTransitHashAlgorithm(name)).toBe(false);
  });
});
