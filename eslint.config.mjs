// ESLint: recommended JS + TypeScript rules for src, test, migrations and bench, and the layer rules
// of src/ (docs/architecture.md, Layers).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layer rules as `@typescript-eslint/no-restricted-imports` patterns, one `files` block per
 * directory depth, since imports are relative: a file `up` directories below `src/` reaches
 * `src/<dir>` as `'../'.repeat(up) + dir`. The rule checks `import type` and `export ... from`
 * too (allowTypeImports is left off). Files nested up to MAX_NESTING directories below a layer's
 * root are covered.
 */
const MAX_NESTING = 4;
const up = (n) => `^(\\.\\./){${n}}`;
/** `src/<name>` (a directory or a file such as server.ts), from a file `n` directories below src/. */
const to = (n, names) => `${up(n)}(${names.join('|')})(/|$)`;
/** Anything of ours under src/ except the named directories. */
const onlyTo = (n, names) => `${up(n)}(?!(${names.join('|')})(/|$))[^.]`;
const COMPOSITION = ['cli', 'server', 'core\\.module', 'entities', 'main'];

/**
 * One block per depth for the files of `root` (a glob of one or more path segments under src/,
 * e.g. 'kernel' or 'engines/*'); `patterns(n)` gives the restricted patterns for a file `n`
 * directories below src/.
 */
function layer(root, patterns, ignores = []) {
  const rootDepth = root.split('/').length;
  return Array.from({ length: MAX_NESTING + 1 }, (_, k) => ({
    files: [`src/${root}/${'*/'.repeat(k)}*.ts`],
    ignores,
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: patterns(rootDepth + k) }] },
  }));
}

const p = (regex, message) => ({ regex, message });

const layers = [
  // crypto: pure primitives over node:crypto and libraries; nothing of ours outside src/crypto.
  ...layer('crypto', (n) => [p(onlyTo(n, ['crypto']), 'src/crypto imports nothing of ours outside src/crypto (layers).')]),
  // hsm: the PKCS#11 layer (pkcs11js over a vendor library); it knows nothing of the seal, Nest or TypeORM.
  ...layer('hsm', (n) => [
    p(onlyTo(n, ['hsm', 'crypto']), 'src/hsm imports nothing of ours outside src/hsm and src/crypto (layers).'),
    p('^(@nestjs/|typeorm$)', 'src/hsm knows nothing of Nest or TypeORM (layers).'),
  ]),
  // framework: the engine SDK, below the kernel: it may import crypto only.
  ...layer('framework', (n) => [p(onlyTo(n, ['framework', 'crypto']), 'src/framework is below the kernel: it imports src/crypto only (layers).')]),
  // kernel: no backends, no HTTP, no audit, no application layer; from config only the document parsers.
  ...layer('kernel', (n) => [
    p(
      to(n, ['engines', 'auth', 'shared', 'http', 'audit', 'application', ...COMPOSITION]),
      'src/kernel imports neither backends (engines, auth, shared), http, audit nor the application layer (layers).',
    ),
    p(`${up(n)}config/(?!(hcl|bounded-document)$)`, 'src/kernel imports from src/config only the document parsers (hcl, bounded-document) (layers).'),
  ]),
  // shared: what several backends use; below engines and auth methods.
  ...layer('shared', (n) => [
    p(
      to(n, ['engines', 'auth', 'http', 'audit', 'application', ...COMPOSITION]),
      'src/shared is below the backends: it imports neither engines, auth methods, http, audit nor the application layer (layers).',
    ),
  ]),
  // secrets engines: not another engine, not an auth method; only the system backend uses audit.
  ...layer(
    'engines/*',
    (n) => [
      p(`${up(n - 1)}[^.]`, 'An engine does not import another engine (nor src/engines/*.ts): share through src/shared (layers).'),
      p(
        to(n, ['auth', 'http', 'audit', 'application', ...COMPOSITION]),
        'An engine imports neither auth methods, http, audit nor the application layer (layers).',
      ),
    ],
    ['src/engines/sys/**'],
  ),
  ...layer('engines/sys', (n) => [
    p(`${up(n - 1)}[^.]`, 'The system backend does not import another engine: share through src/shared (layers).'),
    p(to(n, ['auth', 'http', 'application', ...COMPOSITION]), 'The system backend imports neither auth methods, http nor the application layer (layers).'),
  ]),
  // auth methods: not another auth method, not an engine.
  ...layer('auth/*', (n) => [
    p(`${up(n - 1)}[^.]`, 'An auth method does not import another auth method (nor src/auth/*.ts): share through src/shared (layers).'),
    p(
      to(n, ['engines', 'http', 'audit', 'application', ...COMPOSITION]),
      'An auth method imports neither engines, http, audit nor the application layer (layers).',
    ),
  ]),
  // database: the DataSource, migrations runner and embedded PostgreSQL; it knows no domain (the composition root passes the entities).
  ...layer('database', (n) => [
    p(
      to(n, ['kernel', 'engines', 'auth', 'shared', 'audit', 'application', 'http', ...COMPOSITION]),
      'src/database imports no domain: entities come from the composition root (layers).',
    ),
  ]),
  // the CLI: a client; the server's module graph (Nest, TypeORM) loads only inside `server`/`migrate`, by require.
  ...layer('cli', (n) => [
    p(
      to(n, ['server', 'core\\.module', 'kernel', 'engines', 'auth', 'shared', 'application', 'database']),
      'src/cli does not import the server, its modules, the kernel or the backends: server commands require() them when they run (layers).',
    ),
    p('\\.module$', 'src/cli imports no Nest module (layers).'),
  ]),
];

/**
 * The barrier at the storage boundary (issue 25): barrier encryption is called only inside
 * src/kernel/barrier (the barrier and SealedColumn, which forms each column's location), and sealed
 * columns are bound (`new SealedColumn`) only in repositories, plus the batch token codec, whose
 * ciphertext is the token clients hold. Any member named encrypt/decrypt counts (no type
 * information here): besides the barrier, only the Encrypter (crypto/encrypter.ts over software
 * keys, hsm/pkcs11-encrypter.ts over token keys) has one; its own files are exempt, and a caller of
 * it (transit, next) is added to ENCRYPTER_FILES by path.
 */
const BARRIER_CALL = 'Barrier encryption is only called in src/kernel/barrier: a repository seals and opens through SealedColumn (sealed-column.ts).';
const barrierCalls = [
  { selector: 'MemberExpression[property.name=/^(en|de)crypt$/]', message: BARRIER_CALL },
  { selector: 'MemberExpression[computed=true][property.value=/^(en|de)crypt$/]', message: BARRIER_CALL },
  { selector: 'ObjectPattern > Property[key.name=/^(en|de)crypt$/]', message: BARRIER_CALL },
];
const sealedColumnsOutsideRepositories = {
  selector: 'NewExpression[callee.name="SealedColumn"]',
  message: 'Only repositories (*.repository.ts) seal and open columns: handlers, stores and managers get plaintext from them.',
};
const SEALING_FILES = ['src/**/*.repository.ts', 'src/kernel/token/batch-token.ts'];
const ENCRYPTER_FILES = [
  'src/crypto/encrypter.ts',
  'src/crypto/encrypter.spec.ts',
  'src/hsm/pkcs11-encrypter.ts',
  // transit encrypts and decrypts callers' data with its named keys through an Encrypter (never the barrier).
  'src/engines/transit/transit-encrypt.paths.ts',
  'src/engines/transit/transit-ops.paths.ts',
];
const barrierBoundary = [
  {
    files: ['src/**/*.ts'],
    ignores: ['src/kernel/barrier/**', ...SEALING_FILES, ...ENCRYPTER_FILES],
    rules: { 'no-restricted-syntax': ['error', ...barrierCalls, sealedColumnsOutsideRepositories] },
  },
  { files: ENCRYPTER_FILES, rules: { 'no-restricted-syntax': ['error', sealedColumnsOutsideRepositories] } },
  { files: SEALING_FILES, ignores: ['src/kernel/barrier/**'], rules: { 'no-restricted-syntax': ['error', ...barrierCalls] } },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**', 'bin/**', 'scripts/**', 'jest.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Prettier's printWidth (.prettierrc.json); a string, template literal or regex may run longer (prettier does not break them).
      'max-len': ['error', { code: 160, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true }],
    },
  },
  ...layers,
  ...barrierBoundary,
);
