/**
 * A `kms_library` stanza of the server configuration (Vault's managed keys): a logical name that
 * managed keys reference instead of a path, so that API callers never name a shared object to load.
 * Only `pkcs11`. Names are unique without regard to case, and looked up that way.
 */
export interface KmsLibrary {
  type: 'pkcs11';
  /** As written in the configuration. */
  name: string;
  /** Path of the PKCS#11 shared object. */
  library: string;
}

/** The library a managed key's `library` field names, compared without regard to case. */
export function findKmsLibrary(libraries: readonly KmsLibrary[], name: string): KmsLibrary | undefined {
  const wanted = name.toLowerCase();
  return libraries.find((l) => l.name.toLowerCase() === wanted);
}
