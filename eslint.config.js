// Lint for what the compiler cannot see: promises nobody awaits or handles, and imports
// that cross a package's declared dependencies. Run by `npm test` (npm run lint).
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

// Sealed packages: the broker's and the S3 SDK's types stay inside packages/cluster and
// packages/storage; apps talk to their interfaces (ClusterClient, ArtifactStore).
const SEALED = [
  { group: ['@nats-io/*'], message: 'NATS stays inside @mnist/cluster: use ClusterClient (jobs, tasks, events, bus)' },
  { group: ['@aws-sdk/*', '@smithy/*'], message: 'the S3 SDK stays inside @mnist/storage: use ArtifactStore' },
];
const NO_RAW_BROKER = {
  selector: 'MemberExpression[property.name=/^(nc|js)$/]',
  message: 'no raw NATS connection or JetStream client outside packages/cluster: use ClusterClient',
};

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/build/**', '**/dist/**', 'runs/**', '**/*.js', '**/*.mjs', '**/*.cjs'],
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: {
        projectService: { allowDefaultProject: ['*/*/vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `void p` does not count as handled: a rejection there is still unhandled.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': 'error',
      // Product code imports only its own package.json's dependencies: never a devDependency
      // (test servers, the dev cluster), never an undeclared package.
      'import-x/no-extraneous-dependencies': ['error', { devDependencies: false, includeTypes: false }],
    },
  },
  {
    // Tests, benches, scripts and dev tools may use anything the workspace installs
    // (vitest and the test servers are root or dev dependencies).
    files: [
      '**/*.test.ts',
      '**/test/**',
      '**/bench/**',
      '**/scripts/**',
      'tools/**',
      'infra/**',
      '**/vitest.config.ts',
    ],
    rules: { 'import-x/no-extraneous-dependencies': 'off' },
  },
  {
    // Product code of the apps (tests may drive a real broker and bucket directly).
    files: ['apps/*/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: SEALED }],
      'no-restricted-syntax': ['error', NO_RAW_BROKER],
    },
  },
  {
    // The CLI talks to the API over HTTP: @mnist/api's types are fine, its code is not.
    files: ['apps/cli/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@mnist/api',
              message: 'use @mnist/client; import @mnist/api for types only',
              allowTypeImports: true,
            },
          ],
          patterns: SEALED,
        },
      ],
    },
  },
);
