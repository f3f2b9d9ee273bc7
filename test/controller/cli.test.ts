import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { IMAGES } from '../../src/api';
import { ENV_VARS, runSettings } from '../../src/controller/settings';
import { KubeOpenCodeController } from '../../src';
import { chart, synth } from '../util/synth';

/** The bin as users and the Deployment run it: a child process, with only the env we give it. */
const ROOT = path.resolve(__dirname, '..', '..');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-home-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

function bin(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'kubeopencode-controller'), ...args], {
    cwd: ROOT,
    // no cluster anywhere: no KUBECONFIG, an empty HOME, not in a pod
    env: { PATH: process.env.PATH!, HOME: home, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;

describe('kubeopencode-controller', () => {
  test('--help exits 0 and lists the commands, the flags and every environment variable with its default', () => {
    const r = bin(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['run', 'crontask-fire', 'version', 'help']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.stdout).toContain('-h, --help');
    for (const v of ENV_VARS) {
      expect(r.stdout).toMatch(new RegExp(`^  ${v.name}\\n.*\\n      default: ${v.default.replace(/[()]/g, '\\$&')};`, 'm'));
    }
    expect(bin(['help']).stdout).toBe(r.stdout);
    // the README shows it as it is
    expect(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')).toContain(`\`\`\`\n${r.stdout}\`\`\`\n`);
  }, 60_000);

  test('every variable the installed Deployment sets or the controller reads is in --help', () => {
    const c = chart();
    new KubeOpenCodeController(c, 'controller');
    const deployment = synth(c).all('Deployment')[0];
    const fromManifest = deployment.spec.template.spec.containers[0].env.map((e: any) => e.name);
    const fromCode = ['src/controller/main.ts', 'src/controller/controller.ts', 'src/controller/runtime/log.ts', 'src/controller/settings.ts']
      .flatMap((f) => [...fs.readFileSync(path.join(ROOT, f), 'utf8').matchAll(/(?:process\.env\.|get\(env, ')([A-Z_]+)/g)].map((m) => m[1]));
    const documented = ENV_VARS.map((v) => v.name);
    for (const name of new Set([...fromManifest, ...fromCode])) expect(documented).toContain(name);
  });

  test("version and the default controller image tag are package.json's version", () => {
    expect(version).not.toBe('0.0.0');
    const r = bin(['version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
    expect(bin(['--version']).stdout).toBe(`${version}\n`);
    expect(IMAGES.controller).toBe(`ghcr.io/cdk8s-kubeopencode/controller:${version}`);
  }, 60_000);

  test.each([
    [{ POD_START_GRACE_SECONDS: '5 minutes' }, /^kubeopencode-controller: POD_START_GRACE_SECONDS='5 minutes' is neither whole seconds \(300\) nor a Go duration/],
    [{ HEALTH_PORT: 'http' }, /^kubeopencode-controller: HEALTH_PORT='http' is not a port \(an integer from 0, any free port, to 65535\)/],
    [{ METRICS_PORT: '70000' }, /^kubeopencode-controller: METRICS_PORT='70000' is not a port/],
    [{ LEADER_ELECTION: 'yes' }, /^kubeopencode-controller: LEADER_ELECTION='yes' must be true or false/],
    [{ LOG_LEVEL: 'verbose' }, /^kubeopencode-controller: LOG_LEVEL='verbose' is not a log level/],
  ])('a bad value %j: exit 2 with one line naming it, before anything starts', (env, message) => {
    const r = bin(['run'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  }, 60_000);

  test('Go durations and whole seconds are both accepted for POD_START_GRACE_SECONDS', () => {
    expect(runSettings({ POD_START_GRACE_SECONDS: '5m' }).podStartGraceSeconds).toBe(300);
    expect(runSettings({ POD_START_GRACE_SECONDS: '1m30s' }).podStartGraceSeconds).toBe(90);
    expect(runSettings({ POD_START_GRACE_SECONDS: '45' }).podStartGraceSeconds).toBe(45);
    expect(runSettings({}).podStartGraceSeconds).toBe(300);
  });

  test('no cluster configuration at all: exit 1 at once with one line, instead of retrying forever', () => {
    const r = bin(['run']);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^kubeopencode-controller: no cluster to talk to: KUBECONFIG is not set, ~\/.kube\/config does not exist, and this is not a pod/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  test('a KUBECONFIG that names a missing file: one line naming it, no stack', () => {
    const missing = path.join(home, 'nope', 'config');
    for (const cmd of [['run'], ['crontask-fire']]) {
      const r = bin(cmd, { KUBECONFIG: missing, CRONTASK_NAMESPACE: 'ns', CRONTASK_NAME: 'ct' });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`kubeopencode-controller: KUBECONFIG names '${missing}', which does not exist\n`);
    }
  }, 60_000);

  test('an unknown command or flag: exit 2 with one line pointing at --help', () => {
    for (const args of [['start'], ['--verbose']]) {
      const r = bin(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/see kubeopencode-controller --help\)\n$/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 60_000);

  test("the controller's modules load without cdk8s, constructs and cdk8s-plus-28 (library peers the controller image does not carry)", () => {
    // as in the image after `npm prune --omit=dev`: resolving a peer fails
    const probe = `
      require('ts-node').register({ transpileOnly: true, project: 'tsconfig.dev.json' });
      const Module = require('module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (/^(cdk8s|constructs|cdk8s-plus-28)(\\/|$)/.test(request)) throw new Error('the controller loaded ' + request);
        return resolve.call(this, request, ...rest);
      };
      for (const m of ['main', 'controller', 'decide', 'kube/executor', 'kube/rest', 'kube/convert', 'runtime/log', 'settings']) require('./src/controller/' + m);
      console.log('loaded');`;
    const r = spawnSync(process.execPath, ['-e', probe], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('loaded\n');
  }, 60_000);
});
