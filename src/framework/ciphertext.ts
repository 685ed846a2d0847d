/**
 * Barrier ciphertext as stored in a sealed column. Declared below the kernel so that the framework's
 * TokenInfo can name it; only src/kernel/barrier/sealed-column.ts makes one (by sealing) and opens one.
 */
export type Ciphertext = Buffer & { readonly __brand: 'barrier-ciphertext' };
