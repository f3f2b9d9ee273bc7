/**
 * `kubeoc agent attach`'s path to the server on the API server tier, with a plain HTTP server as the Agent's server:
 * - as a user with only the permissions the README's Role grants (the test API server checks RBAC for users with the
 *   token `user:<name>`): each missing rule is named in the error, and the README's rules are enough to attach (kubeoc
 *   runs a stand-in for `opencode attach` that talks through the forwarder);
 * - server-sent events arrive through the forwarder and the API server while the stream is still open;
 * - kubeoc exits with opencode's status.
 * (The real opencode and its TUI: test/e2e/kubeoc-attach.test.ts.)
 */
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { Writable } from 'stream';
import * as YAML from 'yaml';
import { AttachProxy, resolveTarget } from '../../src/cli/attach';
import { KubeClient } from '../../src/cli/kube';
import { main } from '../../src/cli/main';
import { Obj, applyCrds, kubeRequest, testKubeConfig, useTestCluster } from '../harness/apiserver';
import { registerEndpoints } from '../harness/node';
import { agentIn } from '../integration/controller-kit';

jest.setTimeout(120_000);
const cluster = useTestCluster();
const PASSWORD = 'rbac-test-password';
const README_RULES: Obj[] = (() => {
  const readme = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
  const block = /\*\*RBAC for attaching\*\*[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README: no RBAC block under "RBAC for attaching"');
  return YAML.parse(block[1]).rules;
})();

class Capture extends Writable {
  public text = '';
  _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.text += chunk.toString('utf8');
    cb();
  }
}

let ns: string;
let dir: string;
let janeConfig: string;
let backend: http.Server;
const seen: string[] = [];
const eventStreams: http.ServerResponse[] = [];

beforeAll(async () => {
  cluster.kc();
  await applyCrds();
  ns = await agentIn({}, 'team-agent');
  await kubeRequest('POST', `/api/v1/namespaces/${ns}/secrets`, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'team-agent-server-auth' }, stringData: { password: PASSWORD } } });
  // the Agent's server as far as authentication goes: opencode's Basic auth, in the header or as auth_token
  const expected = Buffer.from(`opencode:${PASSWORD}`).toString('base64');
  backend = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(`${req.method} ${url.pathname}`);
    const ok = url.searchParams.get('auth_token') === expected || req.headers.authorization === `Basic ${expected}`;
    if (ok && url.pathname === '/event') {
      // opencode's event stream: one event now, the stream stays open until the client goes
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('data: {"type":"server.connected"}\n\n');
      eventStreams.push(res);
      return;
    }
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? '{"healthy":true}' : '');
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  await registerEndpoints(ns, 'team-agent', (backend.address() as AddressInfo).port);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'koc-rbac-'));
  const kc = testKubeConfig();
  janeConfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(janeConfig, kc.exportConfig().replace('"token":"test-admin"', '"token":"user:jane"'));
  expect(fs.readFileSync(janeConfig, 'utf8')).toMatch(/user:jane/);
});

afterAll(async () => {
  for (const r of eventStreams) r.destroy();
  await new Promise<void>((r) => (backend ? backend.close(() => r()) : r()));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Jane's Role in the namespace: exactly `rules`, replacing what she had. */
async function grant(rules: Obj[]): Promise<void> {
  const apply = (o: Obj) => kubeRequest('PATCH', `/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/${o.kind === 'Role' ? 'roles' : 'rolebindings'}/${o.metadata.name}`, {
    contentType: 'application/apply-patch+yaml', query: { fieldManager: 'rbac-test', force: true }, body: o,
  });
  await apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'attach', namespace: ns }, rules });
  await apply({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'jane-attach', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'attach' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'jane' }],
  });
}

/** A stand-in for `opencode attach <url>`: one GET and one POST through kubeoc's forwarder; exits 0 when both are 200. */
function fakeOpencode(exitCode?: number): string {
  const file = path.join(dir, exitCode === undefined ? 'opencode' : `opencode-${exitCode}`);
  fs.writeFileSync(file, `#!${process.execPath}
const [, , verb, url] = process.argv;
(async () => {
  const a = await fetch(url + '/global/health');
  const b = await fetch(url + '/session?directory=%2Fworkspace', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  console.log(verb, a.status, b.status);
  process.exit(${exitCode ?? 'a.status === 200 && b.status === 200 ? 0 : 3'});
})();
`, { mode: 0o755 });
  return file;
}

async function attachAsJane(exitCode?: number): Promise<{ code: number; out: string; err: string }> {
  const out = new Capture();
  const err = new Capture();
  const code = await main(['agent', 'attach', 'team-agent', '-n', ns, '--local-port', '0', '--opencode', fakeOpencode(exitCode), '--kubeconfig', janeConfig], { out, err });
  return { code, out: out.text, err: err.text };
}

const without = (resource: string) => README_RULES.filter((r) => !r.resources.includes(resource));

test('no permissions: the error names the rule to ask for', async () => {
  await grant([]);
  const r = await attachAsJane();
  expect(r.code).toBe(1);
  expect(r.err).toMatch(`kubeoc: forbidden: you may not get agents team-agent in namespace ${ns}; ask for a Role in namespace ${ns}, bound to you, with the rule {apiGroups: ["kubeopencode.io"], resources: ["agents"], resourceNames: ["team-agent"], verbs: ["get"]}`);
  expect(r.err).toMatch(/API server: agents.kubeopencode.io "team-agent" is forbidden: User "jane" cannot get resource "agents"/);
});

test('without the Secret: get secrets is named', async () => {
  await grant(without('secrets'));
  const r = await attachAsJane();
  expect(r.code).toBe(1);
  expect(r.err).toMatch('you may not get secrets team-agent-server-auth');
  expect(r.err).toMatch('{apiGroups: [""], resources: ["secrets"], resourceNames: ["team-agent-server-auth"], verbs: ["get"]}');
});

test('without services/proxy: the proxy permission is named, with the verbs attaching needs', async () => {
  await grant(without('services/proxy'));
  const r = await attachAsJane();
  expect(r.code).toBe(1);
  expect(r.err).toMatch('you may not get services/proxy team-agent:4096');
  expect(r.err).toMatch('resources: ["services/proxy"], resourceNames: ["team-agent:4096"]');
  expect(r.err).toMatch(/grant verbs get, create, update, patch and delete on services\/proxy team-agent:4096/);
});

test('the README\'s Role is enough: the session talks to the server through the proxy and the heartbeat lands', async () => {
  await grant(README_RULES);
  seen.length = 0;
  const r = await attachAsJane();
  expect(r.err).not.toMatch(/warning/);
  expect(r.code).toBe(0);
  expect(seen).toEqual(expect.arrayContaining(['GET /global/health', 'POST /session']));
  const agent = await kubeRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents/team-agent`);
  expect(agent.metadata.annotations['kubeopencode.io/last-connection-active']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
});

test('a resource name that is not the proxied id ({agent}:{port}) does not grant the proxy', async () => {
  await grant(README_RULES.map((r) => (r.resources.includes('services/proxy') ? { ...r, resourceNames: ['team-agent'] } : r)));
  const r = await attachAsJane();
  expect(r.code).toBe(1);
  expect(r.err).toMatch('you may not get services/proxy');
});

test('kubeoc exits with opencode\'s status', async () => {
  await grant(README_RULES);
  expect((await attachAsJane(7)).code).toBe(7);
});

test('server-sent events come through the forwarder and the API server while the stream is open (unbuffered)', async () => {
  const client = new KubeClient({ kubeconfig: janeConfig });
  await grant(README_RULES);
  const proxy = new AttachProxy(client, await resolveTarget(client, ns, 'team-agent'));
  const url = await proxy.listen(0);
  try {
    const res = await fetch(`${url}/event`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const first = await reader.read(); // the stream is still open: this resolves only if nothing buffers the event
    expect(Buffer.from(first.value!).toString('utf8')).toBe('data: {"type":"server.connected"}\n\n');
    eventStreams.at(-1)!.write('data: {"type":"message.updated"}\n\n');
    const second = await reader.read();
    expect(Buffer.from(second.value!).toString('utf8')).toBe('data: {"type":"message.updated"}\n\n');
    await reader.cancel();
  } finally {
    await proxy.close();
  }
});
