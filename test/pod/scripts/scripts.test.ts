import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  gitInitEnv,
  gitInitScript,
  gitSyncEnv,
  gitSyncScript,
  stripShellComments,
  urlFetchEnv,
  urlFetchScript,
} from '../../../src/pod/scripts';
import { createSandbox, runScript, Sandbox, SHELLS, watchProcArgv } from '../../fixtures';

const SCRIPTS: Array<[string, () => string]> = [
  ['git-init', gitInitScript],
  ['url-fetch', urlFetchScript],
  ['git-sync', gitSyncScript],
];

let sb: Sandbox;
beforeAll(() => {
  sb = createSandbox('koc-scripts-static-');
});
afterAll(() => sb?.cleanup());

describe.each(SCRIPTS)('%s script text', (name, script) => {
  test('is self-contained: one header line, the common preamble, then the body; no other comment lines', () => {
    const text = script();
    const lines = text.split('\n');
    expect(lines[0]).toBe(`# kubeopencode ${name} (cdk8s-kubeopencode assets/scripts/${name}.sh + common.sh)`);
    expect(lines.slice(1).filter((l) => l.trim().startsWith('#'))).toEqual([]);
    expect(text).toContain('KOC_CRED_HELPER=');
    expect(text).toContain(`KOC_NAME=${name}`);
    expect(text.endsWith('\n')).toBe(true);
    expect(script()).toBe(text); // cached
  });

  test.each(['dash', 'busybox'])('parses under %s (sh -n)', (shell) => {
    const argv = shell === 'busybox' ? ['busybox', ['sh', '-n', '-c', script()]] as const : ['dash', ['-n', '-c', script()]] as const;
    expect(() => execFileSync(argv[0], [...argv[1]], { stdio: 'pipe' })).not.toThrow();
  });

  test('uses no bashisms the target shells lack', () => {
    const text = script();
    expect(text).not.toMatch(/\[\[|pipefail|<<|\$\{[A-Za-z_]+\[|&>|\$'/);
    expect(text).not.toMatch(/^\s*(function|local|source|declare|typeset)\s/m);
  });
});

test('stripShellComments drops the shebang, comment lines and blank lines only', () => {
  expect(stripShellComments('#!/bin/sh\n# c\n\n  # indented\necho "# not a comment"\nx=1 # trailing\n')).toBe(
    'echo "# not a comment"\nx=1 # trailing',
  );
});

test('env helpers emit the documented names; undefined options stay undefined', () => {
  expect(gitInitEnv({ repository: 'https://x/r.git', dest: '/w' })).toEqual([
    ['CONTEXT_NAME', undefined],
    ['GIT_REPO', 'https://x/r.git'],
    ['GIT_REF', undefined],
    ['GIT_DEPTH', undefined],
    ['GIT_RECURSE_SUBMODULES', undefined],
    ['GIT_CREDENTIALS_DIR', undefined],
    ['GIT_DEST', '/w'],
    ['GIT_UPDATE_EXISTING', undefined],
  ]);
  expect(Object.fromEntries(gitSyncEnv({
    repository: 'r', root: '/s', link: '/s/repo', intervalSeconds: 300, oneTime: true, depth: 0, recurseSubmodules: false,
  }))).toMatchObject({
    GIT_SYNC_ROOT: '/s', GIT_SYNC_LINK: '/s/repo', GIT_SYNC_INTERVAL: '300', GIT_SYNC_ONE_TIME: 'true',
    GIT_DEPTH: '0', GIT_RECURSE_SUBMODULES: undefined, // false is the scripts' default: not emitted
  });
  expect(Object.fromEntries(gitSyncEnv({
    repository: 'r', root: '/s', link: '/s/repo', intervalSeconds: 300, recurseSubmodules: true,
  })).GIT_RECURSE_SUBMODULES).toBe('true');
  expect(Object.fromEntries(urlFetchEnv({ source: 'https://x/a', dest: '/w/a', timeoutSeconds: 10, contextName: 'c' })))
    .toEqual({ CONTEXT_NAME: 'c', URL_SOURCE: 'https://x/a', URL_DEST: '/w/a', URL_TIMEOUT: '10' });
});

test('the sources under assets/scripts are the ones composed', () => {
  const dir = path.join(__dirname, '..', '..', '..', 'assets', 'scripts');
  expect(fs.readdirSync(dir)).toEqual(expect.arrayContaining(['common.sh', 'git-init.sh', 'git-sync.sh', 'url-fetch.sh']));
  expect(gitInitScript()).toContain(stripShellComments(fs.readFileSync(path.join(dir, 'common.sh'), 'utf8')));
});

describe.each(SHELLS)('git credential helper under %s', (shell) => {
  /** The helper as git runs it: `sh -c '<helper without !> "$@"' <helper> get`, with the request on stdin. */
  const helperRun = (action: string, credDir: string) => {
    const assignment = gitInitScript().split('\n').find((l) => l.startsWith('KOC_CRED_HELPER='))!;
    const script = `${assignment}\nprintf 'protocol=https\\nhost=example\\n\\n' | sh -c "\${KOC_CRED_HELPER#!} \\"\\$@\\"" helper ${action}`;
    return runScript(sb, shell, script, { GIT_CREDENTIALS_DIR: credDir });
  };

  test('prints username and password from the files (trailing newlines dropped); nothing for store/erase', async () => {
    const dir = sb.mkdir('creds');
    fs.writeFileSync(path.join(dir, 'username'), 'alice\n');
    fs.writeFileSync(path.join(dir, 'password'), 'ghp_abc\r\n');
    const r = await helperRun('get', dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('username=alice\npassword=ghp_abc\n');
    expect((await helperRun('store', dir)).stdout).toBe('');
    expect((await helperRun('erase', dir)).stdout).toBe('');
  });

  test('defaults the username to "git"', async () => {
    const dir = sb.mkdir('creds');
    fs.writeFileSync(path.join(dir, 'password'), 'ghp_abc');
    expect((await helperRun('get', dir)).stdout).toBe('username=git\npassword=ghp_abc\n');
  });
});

test('control: watchProcArgv does catch a secret in argv and in the environment', async () => {
  const w1 = watchProcArgv(['needle_in_argv_123']);
  // the script runs from a file, so the needle goes on a child's command line
  await runScript(sb, 'dash', "sh -c 'sleep 0.3' needle_in_argv_123", {});
  expect((await w1.stop()).length).toBeGreaterThan(0);
  const w2 = watchProcArgv(['needle_in_env_456']);
  await runScript(sb, 'dash', 'sleep 0.2', { SOME_VAR: 'needle_in_env_456' });
  expect((await w2.stop()).join('\n')).toContain('environ');
});

test('control: the busybox runs use busybox applets (mv, ln, mktemp, sed, awk...) and only git/curl from Debian', async () => {
  const r = await runScript(sb, 'busybox', 'for c in mv ln mktemp sed awk tr readlink sleep sh; do readlink -f "$(command -v $c)"; done; command -v git; command -v curl', {});
  const lines = r.stdout.trim().split('\n');
  expect(lines.slice(0, 9).every((l) => /\/busybox$/.test(l))).toBe(true);
  expect(lines.slice(9)).toEqual([`${sb.shimDir}/git`, `${sb.shimDir}/curl`]);
});
