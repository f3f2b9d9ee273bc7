import { javascript, typescript } from 'projen';

/**
 * The project definition. package.json, tsconfig*.json, the jest config and the npm scripts are generated from this
 * file: edit it and run `npx projen`, never the generated files.
 *
 * A plain TypeScript project (not jsii) so that construct props can use string-literal unions that mirror the YAML.
 */
const project = new typescript.TypeScriptProject({
  name: 'cdk8s-kubeopencode',
  description:
    'cdk8s constructs and a slim runtime controller for always-on AI coding agents (KubeOpenCode) on Kubernetes',
  license: 'Apache-2.0',
  repository: 'https://github.com/cdk8s-kubeopencode/cdk8s-kubeopencode.git',
  homepage: 'https://github.com/cdk8s-kubeopencode/cdk8s-kubeopencode#readme',
  keywords: ['cdk8s', 'kubernetes', 'constructs', 'kubeopencode', 'opencode', 'ai-agents', 'coding-agent', 'controller', 'gitops'],
  copyrightOwner: 'cdk8s-kubeopencode authors',
  defaultReleaseBranch: 'main',
  projenrcTs: true,
  packageManager: javascript.NodePackageManager.NPM,
  minNodeVersion: '20.19.0',
  typescriptVersion: '~5.9.3',
  github: false,
  release: false,
  buildWorkflow: false,
  depsUpgrade: false,
  pullRequestTemplate: false,
  sampleCode: false,
  eslint: false,
  prettier: false,
  // the generated cdk8s imports live at the package root, next to src/ (DESIGN.md §4)
  srcdir: 'src',
  libdir: 'lib',
  entrypoint: 'lib/src/index.js',
  entrypointTypes: 'lib/src/index.d.ts',
  bin: { 'kubeopencode-controller': 'bin/kubeopencode-controller', 'kubeoc': 'bin/kubeoc' },
  // An app brings its own cdk8s, constructs and cdk8s-plus-28: one copy of each, or our Lazy values and constructs
  // are foreign objects to the app's (synth fails with "can't render non-simple object of type 'Lazy'"). The ranges
  // are cdk8s-plus-28's own peer ranges; test/package/consumer.test.ts installs the lowest and highest they allow.
  peerDeps: ['cdk8s@^2.68.11', 'constructs@^10.3.0', 'cdk8s-plus-28@^2.0.3'],
  peerDependencyOptions: { pinnedDevDependency: false },
  deps: [
    '@kubernetes/client-node@1.4.0',
    'cron-parser@5.10.6',
    'prom-client@15.1.3',
    'pino@10.4.0',
    'yaml@2.9.1',
  ],
  devDeps: [
    // our own build and tests run on the newest versions the peer ranges allow
    'cdk8s@2.70.106',
    'cdk8s-plus-28@2.5.6',
    'constructs@10.8.1',
    'cdk8s-cli@2.207.60',
    'ajv@8.20.0',
    'ajv-formats@3.0.1',
    'fast-check@4.10.2',
    '@types/semver@7.7.1',
  ],
  tsconfig: {
    include: ['src/**/*.ts', 'imports/**/*.ts'],
    compilerOptions: {
      rootDir: '.',
      outDir: 'lib',
      lib: ['es2022'],
      target: 'ES2022',
      skipLibCheck: true,
      // no source maps in the package: inline maps made about 1 MB of the tarball
      inlineSourceMap: false,
      inlineSources: false,
      sourceMap: false,
    },
  },
  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: {
    include: ['src/**/*.ts', 'imports/**/*.ts', 'test/**/*.ts', 'examples/**/*.ts', 'bench/**/*.ts', '.projenrc.ts'],
    compilerOptions: {
      rootDir: '.',
      lib: ['es2022'],
      target: 'ES2022',
      skipLibCheck: true,
      // ts-jest then transpiles file by file (fast); `tsc --noEmit -p tsconfig.dev.json` in the test task type-checks
      isolatedModules: true,
    },
  },
  jest: true,
  jestOptions: {
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    passWithNoTests: false,
    junitReporting: false,
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/lib/', '/dist/'],
      collectCoverage: false,
      testTimeout: 60_000,
      // Two workers: jest's default on 2 cores is one, and most test files wait on servers, pods and processes rather
      // than compute. Every tier is safe to run concurrently: each file starts its own API server and fixtures on
      // free ports, and each node-tier file its own Node (network namespace, labelled containers, its own directories);
      // a Node refuses two running pods that declare the same port (test/node/node.ts).
      maxWorkers: 2,
      // @kubernetes/client-node 1.x and three of its dependencies ship only as ES modules, which jest's CommonJS
      // runtime cannot load on Node 20: transpile them (syntax only) with test/harness/esm-transform.js
      transformIgnorePatterns: ['/node_modules/(?!(@kubernetes/client-node|openid-client|oauth4webapi|jose)/)'],
    },
  },
  gitignore: ['/dist/', '/lib/', '/bench/results/tmp/', '*.tgz', '.cache/'],
});

for (const p of ['/test/', '/bench/', '/examples/', '/scripts/', '/schemas/', '/.ci/', '/images/', '/Dockerfile', '/imports/*.ts', '!/imports/*.d.ts']) {
  project.addPackageIgnore(p);
}
// What the package ships: the compiled library and controller, the files they read at run time (scripts, CRDs,
// package.json for the version), and the API reference. test/package/consumer.test.ts checks the tarball.
project.package.addField('files', [
  'lib/**/*.js',
  'lib/**/*.d.ts',
  'assets/scripts/*.sh',
  'bin/kubeopencode-controller',
  'bin/kubeoc',
  'crds/*.yaml',
  'docs/api-reference.md',
]);
// One entry point with its types (and the generated CRD classes); deep imports of lib/ are not part of the API.
project.package.addField('exports', {
  '.': { types: './lib/src/index.d.ts', default: './lib/src/index.js' },
  './imports': { types: './lib/imports/kubeopencode.io.d.ts', default: './lib/imports/kubeopencode.io.js' },
  './package.json': './package.json',
});

// The API's source of truth is crds/; imports/ is generated from it (works offline on a local file).
project.addTask('import', {
  description: 'Regenerate imports/ from crds/ with cdk8s import',
  exec: 'bash scripts/import-crds.sh',
});

// The README's first command: synthesize every example app to YAML under dist/examples/.
const synth = project.addTask('synth', {
  description: 'Synthesize examples/ to YAML under dist/examples/',
  exec: 'ts-node --transpile-only examples/main.ts',
});
synth.description = 'Synthesize examples/ to YAML under dist/examples/';

// Everything the tests need that npm does not install (git, openssl, the API server build) is provisioned on first
// use and cached outside the clone, so a second run starts in seconds.
project.addTask('provision', {
  description: 'Install and build what the test suite needs (cached outside the clone)',
  exec: 'bash scripts/provision.sh',
});
project.testTask.prependSpawn(project.tasks.tryFind('provision')!);
project.testTask.prependExec('tsc --noEmit -p tsconfig.dev.json');

// the ESM transform sits beside ts-jest's (projen owns the transform map)
project.jest!.config.transform['^.+\\.m?js$'] = '<rootDir>/test/harness/esm-transform.js';

const bench = project.addTask('bench', {
  description: 'Benchmarks: synth at scale and the controller (writes bench/results/latest.json)',
});
bench.spawn(project.tasks.tryFind('provision')!);
bench.exec('ts-node --transpile-only bench/run.ts', { receiveArgs: true });

// `kubeopencode-controller version` and the default controller image tag both read this (src/version.ts)
project.package.addVersion('0.1.0');

project.synth();
