import { inclusionProof, leafHash, rootOf, verifyInclusion } from './merkle';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (h: string) => Buffer.from(h, 'hex');

// The reference inputs and tree heads of RFC 6962's test data (Certificate Transparency).
const ENTRIES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const LEAVES = ENTRIES.map(leafHash);

describe('RFC 6962 Merkle tree', () => {
  it('gives the reference tree head for every size 0..8', () => {
    for (let n = 0; n <= 8; n++) expect({ n, root: hex(rootOf(LEAVES.slice(0, n))) }).toEqual({ n, root: ROOTS[n] });
  });

  it('gives the reference audit paths', () => {
    expect(inclusionProof(0, LEAVES).map(hex)).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(inclusionProof(5, LEAVES).map(hex)).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
  });

  it('verifies every leaf of every tree size up to 37, and refuses a changed leaf, path or index', () => {
    const many = Array.from({ length: 37 }, (_, i) => leafHash(Buffer.from([i, (i * 7) & 0xff])));
    for (let size = 1; size <= many.length; size++) {
      const leaves = many.slice(0, size);
      const root = rootOf(leaves);
      for (let i = 0; i < size; i++) {
        const proof = inclusionProof(i, leaves);
        expect(verifyInclusion(i, size, leaves[i], proof, root)).toBe(true);
        expect(verifyInclusion(i, size, leafHash(Buffer.from('other')), proof, root)).toBe(false);
        if (size > 1) {
          expect(verifyInclusion((i + 1) % size, size, leaves[i], proof, root)).toBe(false);
          const bent = proof.map((p, k) => (k === 0 ? Buffer.from(p.map((b) => b ^ 1)) : p));
          expect(verifyInclusion(i, size, leaves[i], bent, root)).toBe(false);
        }
      }
    }
  });

  // A path fixes (index, size, root) together: the same path can fit another size with the same
  // root, so a checkpoint signs the size with the root and the verifier uses both.
  it('refuses out-of-range indexes', () => {
    expect(() => inclusionProof(8, LEAVES)).toThrow(RangeError);
    expect(verifyInclusion(8, 8, LEAVES[0], [], rootOf(LEAVES))).toBe(false);
    expect(verifyInclusion(-1, 8, LEAVES[0], [], rootOf(LEAVES))).toBe(false);
  });
});
