/**
 * The controller reads its kubeconfig with client-node's parsers and authenticators module by module
 * (src/controller/kube/kubeconfig.ts) instead of its KubeConfig class, whose module loads the whole generated API.
 * These tests hold it to client-node's KubeConfig on the same input, and check that the controller's modules never
 * load the package's index.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { KubeConfig } from '@kubernetes/client-node';
import { LeanKubeConfig } from '../../src/controller/kube/kubeconfig';

const ROOT = path.join(__dirname, '..', '..');
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeconfig-test-'));
  fs.mkdirSync(path.join(dir, 'certs'));
  fs.writeFileSync(path.join(dir, 'certs', 'ca.crt'), 'CA FROM A FILE\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(users: string): string {
  const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(file, `apiVersion: v1
kind: Config
current-context: b
clusters:
- name: one
  cluster: { server: 'https://10.0.0.1:6443', certificate-authority-data: ${b64('CA ONE')} }
- name: two
  cluster: { server: 'https://k8s.example:443/', certificate-authority: certs/ca.crt, tls-server-name: kubernetes, insecure-skip-tls-verify: true }
contexts:
- name: a
  context: { cluster: one, user: token-user }
- name: b
  context: { cluster: two, user: the-user }
users:
- name: token-user
  user: { token: not-this-one }
${users}`);
  return file;
}

async function both(file: string) {
  const theirs = new KubeConfig();
  theirs.loadFromFile(file);
  const ours = LeanKubeConfig.fromFile(file);
  const a: https.RequestOptions = {};
  const b: https.RequestOptions = {};
  await theirs.applyToHTTPSOptions(a);
  await ours.applyToHTTPSOptions(b);
  const pick = (o: https.RequestOptions) => ({ ca: o.ca?.toString(), cert: o.cert?.toString(), key: o.key?.toString(), headers: o.headers, servername: o.servername, rejectUnauthorized: o.rejectUnauthorized, auth: o.auth });
  return { theirs: { server: theirs.getCurrentCluster()?.server, ...pick(a) }, ours: { server: ours.getCurrentCluster()?.server, ...pick(b) } };
}

test('client certificate and key as data, a CA file relative to the kubeconfig, impersonation: the same as KubeConfig', async () => {
  const file = kubeconfig(`- name: the-user
  user: { client-certificate-data: ${b64('CERT')}, client-key-data: ${b64('KEY')}, as: someone }`);
  const { theirs, ours } = await both(file);
  expect(ours).toEqual(theirs);
  expect(ours).toMatchObject({ server: 'https://k8s.example:443', ca: 'CA FROM A FILE\n', cert: 'CERT', key: 'KEY', servername: 'kubernetes', rejectUnauthorized: false, headers: { 'Impersonate-User': 'someone' } });
});

test('a bearer token and basic auth: the same as KubeConfig', async () => {
  const { theirs, ours } = await both(kubeconfig(`- name: the-user
  user: { token: t0k3n, username: alice, password: s3cret }`));
  expect(ours).toEqual(theirs);
  expect(ours.headers).toEqual({ Authorization: 'Bearer t0k3n' });
  expect(ours.auth).toBe('alice:s3cret');
});

test('an exec plugin runs through client-node\'s ExecAuth and its token is sent', async () => {
  const plugin = path.join(dir, 'plugin.sh');
  fs.writeFileSync(plugin, '#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}\'\n', { mode: 0o755 });
  const { theirs, ours } = await both(kubeconfig(`- name: the-user
  user: { exec: { apiVersion: client.authentication.k8s.io/v1, command: ${plugin}, interactiveMode: Never } }`));
  expect(ours).toEqual(theirs);
  expect(ours.headers).toEqual({ Authorization: 'Bearer from-exec' });
});

test('in the cluster: the ServiceAccount\'s CA and token, the service address (IPv6 in brackets)', async () => {
  const sa = path.join(dir, 'sa');
  fs.mkdirSync(sa, { recursive: true });
  fs.writeFileSync(path.join(sa, 'token'), 'sa-token');
  fs.writeFileSync(path.join(sa, 'ca.crt'), 'SA CA');
  const kc = LeanKubeConfig.fromServiceAccount(sa, { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' });
  const o: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(o);
  expect(kc.getCurrentCluster()?.server).toBe('https://[fd00::1]:443');
  expect(o.ca?.toString()).toBe('SA CA');
  expect(o.headers).toEqual({ Authorization: 'Bearer sa-token' });
  const f = await kc.applyToFetchOptions({});
  expect(f.headers).toEqual({ Authorization: 'Bearer sa-token' });
  expect(f.agent).toBeInstanceOf(https.Agent);
});

test("the controller's modules never load client-node's index (which loads the whole generated API)", () => {
  const file = kubeconfig(`- name: the-user
  user: { token: t }`);
  // every request for a client-node module made through require (the controller is CommonJS)
  const probe = `
    require('ts-node').register({ transpileOnly: true, project: 'tsconfig.dev.json' });
    const Module = require('module');
    const resolve = Module._resolveFilename;
    const seen = new Set();
    Module._resolveFilename = function (request, ...rest) {
      if (request.startsWith('@kubernetes/client-node')) seen.add(request);
      return resolve.call(this, request, ...rest);
    };
    for (const m of ['main', 'controller', 'settings']) require('./src/controller/' + m);
    const kc = require('./src/controller/settings').loadKubeConfig({ KUBECONFIG: ${JSON.stringify(file)} });
    kc.applyToHTTPSOptions({}).then(() => console.log(JSON.stringify([...seen].sort())));`;
  const r = spawnSync(process.execPath, ['-e', probe], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual(['@kubernetes/client-node/dist/config_types.js', '@kubernetes/client-node/dist/informer.js']);
}, 60_000);
