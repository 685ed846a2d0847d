/**
 * The `kms_library "pkcs11" { name = "hsm1", library = "/usr/lib/softhsm/libsofthsm2.so" }` stanzas
 * (Vault's names). Several may be given; `name` is unique across them without regard to case (as
 * in Vault); both settings are required and nothing else is accepted. The stanza holds no secret:
 * a managed key's PIN is given through the API and stored sealed.
 */
import { findKmsLibrary, type KmsLibrary } from '../kernel/managed-keys/kms-library';
import { blocks, str, type Doc } from './config-doc';
import { ConfigError } from './config-error';

const KEYS = ['name', 'library'];

export function kmsLibrariesFrom(doc: Doc): KmsLibrary[] {
  const out: KmsLibrary[] = [];
  for (const { label, body } of blocks(doc, 'kms_library')) {
    const where = `kms_library "${label}"`;
    if (label !== 'pkcs11') throw new ConfigError(`${where}: only "pkcs11" is supported`);
    for (const key of Object.keys(body)) if (!KEYS.includes(key)) throw new ConfigError(`${where}.${key}: unknown setting`);
    const name = str(body, 'name', where)?.trim();
    if (!name) throw new ConfigError(`${where}: name is required`);
    const library = str(body, 'library', where)?.trim();
    if (!library) throw new ConfigError(`${where} "${name}": library is required`);
    if (findKmsLibrary(out, name)) throw new ConfigError(`${where}: the name "${name}" is given twice (names are compared without regard to case)`);
    out.push({ type: 'pkcs11', name, library });
  }
  return out;
}
