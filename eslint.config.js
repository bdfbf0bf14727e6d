import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Workflow code is replayed, so it must be deterministic: no I/O, no clocks, no Node builtins.
const nonDeterministicImports = {
  patterns: [
    { group: ['node:*'], message: 'Workflow code must not use Node builtins; do it in an activity.' },
    {
      group: ['fs', 'fs/*', 'path', 'crypto', 'os', 'http', 'https', 'net', 'child_process', 'worker_threads', 'timers'],
      message: 'Workflow code must not use Node builtins; do it in an activity.',
    },
    {
      group: ['pg', 'pg-*', 'nats', '@nats-io/*', 'fastify', 'fastify-*', '@fastify/*', 'pino', 'uuid'],
      message: 'Workflow code must not do I/O or use non-deterministic libraries; do it in an activity.',
    },
    {
      group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing'],
      message: 'Workflow code may only use @temporalio/workflow and @temporalio/common.',
    },
    {
      group: ['**/activities/*', '**/activities', '**/store/*', '**/api/*', '**/bridge/*'],
      allowTypeImports: true,
      message: 'Workflow code sees activities only as types, through proxyActivities.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['dist/', 'sdk/browser/dist/', 'node_modules/', '.data/', 'test/histories/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only src/config.ts reads process.env.' }],
    },
  },
  { files: ['src/config.ts'], rules: { 'no-restricted-properties': 'off' } },
  { files: ['test/**/*.ts', 'bench/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', nonDeterministicImports],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use a workflow loop with sleep().' },
        { name: 'process', message: 'No process in workflow code.' },
        { name: 'console', message: 'Use log from @temporalio/workflow.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'Math.random is replaced by a seeded PRNG in workflows; prefer uuid4() from @temporalio/workflow for ids.',
        },
      ],
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
  {
    files: ['sdk/browser/build.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, globals: { console: 'readonly' } },
  },
);
