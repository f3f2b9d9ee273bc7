/**
 * `kubeoc agent attach`, end to end with real parts: the real `opencode serve` of a synthesized Agent (scripted model),
 * reached only through the test API server's service proxy (Service → the Endpoints the harness registers), the real
 * `opencode attach` TUI inside tmux, and the controller's standby on the real API server.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { Agent } from '../../src';
import { Controller } from '../../src/controller/controller';
import { Obj, applyCrds, createNamespace, kubeRequest, markDeploymentReady, useTestCluster, waitFor } from '../harness/apiserver';
import { KUBECONFIG_ENV, readTestClusterState } from '../harness/cluster';
import { registerEndpoints } from '../harness/node';
import { LlmStub, startLlmStub } from '../fixtures/llm-stub';
import { OFFLINE_ENV, OPENCODE_BIN, OpencodeServer, PodSandbox, agentObjects, configMapsOf, ensureOpencode, startOpencodeServer } from '../fixtures/opencode';
import { applyChart, startController } from '../integration/controller-kit';
import { chart } from '../util/synth';

jest.setTimeout(240_000);
const cluster = useTestCluster();
const KUBEOC = path.resolve(__dirname, '..', '..', 'bin', 'kubeoc');
const PASSWORD = 'attach-test-password';
/** Short enough that the idle twin is suspended while the test runs (and below 2m: StandbyConfigWarning). */
const IDLE = '1m';
const GUIDE_NAMESPACE = 'kubeopencode-system';
/** The guide's line: `kubeoc agent attach team-agent -n kubeopencode-system` (local port 4096, the Agent's port). */
const GUIDE_LINE = `agent attach team-agent -n ${GUIDE_NAMESPACE}`;

let ns: string;
let stub: LlmStub;
let server: OpencodeServer;
let controller: Controller;
let sandbox: PodSandbox;
let home: string;
const tmuxSocket = `koc-attach-${process.pid}`;

const tmux = (...args: string[]) => execFileSync('tmux', ['-L', tmuxSocket, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', 'koc');
const agent = (name: string) => kubeRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents/${name}`);
const cond = (o: Obj, type: string) => (o.status?.conditions ?? []).find((c: Obj) => c.type === type);

beforeAll(async () => {
  ensureOpencode();
  if (spawnSync('tmux', ['-V']).status !== 0) throw new Error('tmux is missing: run sh scripts/fixtures/provision.sh');
  cluster.kc();
  await applyCrds();
  // the guide's namespace, so that the guide's command line runs as written
  ns = GUIDE_NAMESPACE;
  await createNamespace(ns).catch((e) => { if (!/409|AlreadyExists/.test(String(e))) throw e; });
  await kubeRequest('PATCH', `/api/v1/namespaces/${ns}/secrets/team-agent-server-auth`, {
    contentType: 'application/apply-patch+yaml', query: { fieldManager: 'kubeoc-attach-test', force: true },
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'team-agent-server-auth', namespace: ns }, stringData: { password: PASSWORD } },
  });
  const c = chart(ns);
  new Agent(c, 'team-agent', { workspaceDir: '/workspace', serviceAccountName: 'kubeopencode-agent', standby: { idleTimeout: IDLE } });
  new Agent(c, 'idle-twin', { workspaceDir: '/workspace', serviceAccountName: 'kubeopencode-agent', standby: { idleTimeout: IDLE } });
  const objects = await applyChart(c);
  for (const a of ['team-agent', 'idle-twin']) await markDeploymentReady(ns, `${a}-server`);
  stub = await startLlmStub();
  sandbox = new PodSandbox(agentObjects(objects, 'team-agent').serverPod, {
    configMaps: configMapsOf(objects), secrets: { 'team-agent-server-auth': { password: PASSWORD } }, prefix: 'koc-attach-server-',
  });
  await sandbox.runInitContainers({ skip: [] });
  server = await startOpencodeServer(sandbox, { configOverlay: stub.opencodeConfig() });
  // the endpoints controller's part: the Service's endpoints are the server on this machine
  await registerEndpoints(ns, 'team-agent', server.port);
  controller = startController();
  await controller.start();
  await waitFor(async () => (await agent('team-agent')).status?.ready === true, 15_000, { what: 'team-agent ready' });
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'koc-attach-home-'));
});

afterAll(async () => {
  spawnSync('tmux', ['-L', tmuxSocket, 'kill-server']);
  await controller?.stop();
  await server?.stop().catch(() => undefined);
  await stub?.stop();
  sandbox?.cleanup();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = require('net').createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A shell script that runs kubeoc as a user would: their PATH has opencode, their KUBECONFIG the cluster. */
function userSession(args: string): string {
  const bin = path.join(home, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  if (!fs.existsSync(path.join(bin, 'opencode'))) fs.symlinkSync(OPENCODE_BIN, path.join(bin, 'opencode'));
  const kubeconfig = process.env[KUBECONFIG_ENV] ?? readTestClusterState()!.kubeconfig;
  const env: Record<string, string> = {
    ...OFFLINE_ENV,
    PATH: `${bin}:${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    XDG_DATA_HOME: path.join(home, 'data'), XDG_CONFIG_HOME: path.join(home, 'config'), XDG_CACHE_HOME: path.join(home, 'cache'), XDG_STATE_HOME: path.join(home, 'state'),
    KUBECONFIG: kubeconfig,
    TERM: 'xterm-256color',
  };
  const script = path.join(home, 'session.sh');
  fs.writeFileSync(script, [
    '#!/bin/sh',
    ...Object.entries(env).map(([k, v]) => `export ${k}='${v}'`),
    `cd '${home}'`,
    `'${KUBEOC}' ${args}`,
    `echo "$?" > '${path.join(home, 'exit-code')}'`,
    'sleep 600',
  ].join('\n'), { mode: 0o755 });
  return script;
}

test('the guide\'s attach line: the TUI connects through the service proxy, a message reaches the model, standby waits', async () => {
  stub.reset();
  // exactly the guide's line; only if this machine already uses 4096 (another opencode serve) does it add --local-port 0
  const script = userSession(await portFree(4096) ? GUIDE_LINE : `${GUIDE_LINE} --local-port 0`);
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'koc', '-x', '110', '-y', '32', script);

  // 1. the TUI is connected: it shows the server's model, which only the server's config names
  const connected = await waitFor(() => (/Stub Model/.test(screen()) ? screen() : undefined), 90_000, { what: 'the TUI showing the server\'s model' });
  expect(connected).toMatch(/Ask anything/);

  // 2. a message typed into the TUI reaches the model through kubeoc → API server → opencode serve
  tmux('send-keys', '-t', 'koc', '-l', 'hello from the laptop');
  tmux('send-keys', '-t', 'koc', 'Enter');
  await stub.waitFor((r) => r.kind === 'chat' && JSON.stringify(r.body).includes('hello from the laptop'), 90_000, 'the typed message at the model');
  const replied = await waitFor(() => (/STUB-REPLY: done\./.test(screen()) ? screen() : undefined), 60_000, { what: 'the model\'s reply in the TUI (streamed over /event)' });
  // the README's screen comes from here: KUBEOC_SCREEN_OUT=<file> npx jest -c test/harness/jest.apiserver.config.js test/e2e/kubeoc-attach.test.ts
  if (process.env.KUBEOC_SCREEN_OUT) fs.writeFileSync(process.env.KUBEOC_SCREEN_OUT, replied.replace(/[ \t]+$/gm, '').replace(/^\n+/, '').trimEnd() + '\n');

  // 3. the heartbeat: annotation, condition, and standby leaves the attached Agent alone while its twin sleeps
  const attached = await waitFor(async () => {
    const a = await agent('team-agent');
    return cond(a, 'ConnectionActive')?.status === 'True' ? a : undefined;
  }, 15_000, { what: 'ConnectionActive=True' });
  const hb = Date.parse(attached.metadata.annotations['kubeopencode.io/last-connection-active']);
  expect(Math.abs(Date.now() - hb)).toBeLessThan(120_000);
  expect(cond(attached, 'StandbyConfigWarning')).toMatchObject({ status: 'True', reason: 'IdleTimeoutTooShort' });
  await waitFor(async () => (await agent('idle-twin')).spec.suspend === true, 90_000, { what: 'the idle twin suspended by standby' });
  const during = await agent('team-agent');
  expect(during.spec.suspend).toBe(false);
  expect(Date.now() - Date.parse(during.metadata.creationTimestamp)).toBeGreaterThan(60_000); // past its idleTimeout

  // 4. detach: the TUI exits, kubeoc exits with its status and stops forwarding and heartbeating
  tmux('send-keys', '-t', 'koc', 'C-c');
  const code = await waitFor(() => (fs.existsSync(path.join(home, 'exit-code')) ? fs.readFileSync(path.join(home, 'exit-code'), 'utf8').trim() : undefined), 30_000, { what: 'kubeoc to exit' });
  expect(code).toBe('0');
  const last = (await agent('team-agent')).metadata.annotations['kubeopencode.io/last-connection-active'];
  await new Promise((r) => setTimeout(r, 1500));
  expect((await agent('team-agent')).metadata.annotations['kubeopencode.io/last-connection-active']).toBe(last);
});

test('the server password travels as auth_token: the API server strips the Authorization header (as kube-apiserver does)', async () => {
  const kubeconfig = process.env[KUBECONFIG_ENV] ?? readTestClusterState()!.kubeconfig;
  const kc = new (await import('@kubernetes/client-node')).KubeConfig();
  kc.loadFromFile(kubeconfig);
  const base = `/api/v1/namespaces/${ns}/services/team-agent:4096/proxy/global/health`;
  const get = async (suffix: string, headers: Record<string, string> = {}) => {
    const opts: import('https').RequestOptions = { headers: { ...headers } };
    await kc.applyToHTTPSOptions(opts);
    // a Basic header of our own would replace the user's credentials; the test API server accepts anyone
    if (headers.authorization) (opts.headers as Record<string, string>).authorization = headers.authorization;
    const url = new URL(kc.getCurrentCluster()!.server + base + suffix);
    return new Promise<number>((resolve, reject) => {
      (url.protocol === 'https:' ? require('https') : http).get(url, opts, (res: http.IncomingMessage) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
  };
  const token = Buffer.from(`opencode:${PASSWORD}`).toString('base64');
  expect(await get('', { authorization: `Basic ${token}` })).toBe(401);
  expect(await get(`?auth_token=${encodeURIComponent(token)}`)).toBe(200);
});

test('attach explains what is wrong: a suspended Agent, a Service without endpoints', async () => {
  const run = (args: string[]) => spawnSync(KUBEOC, args, { encoding: 'utf8', env: { ...process.env, KUBECONFIG: process.env[KUBECONFIG_ENV] ?? readTestClusterState()!.kubeconfig, PATH: `/nonexistent:${process.env.PATH}` } });
  const suspended = run(['agent', 'attach', 'idle-twin', '-n', ns, '--local-port', '0']);
  expect(suspended.status).toBe(1);
  expect(suspended.stderr).toMatch(/agent idle-twin is suspended: resume it first with `kubeoc agent resume idle-twin -n /);
  await kubeRequest('PATCH', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents/idle-twin`, { contentType: 'application/merge-patch+json', body: { spec: { suspend: false } } });
  await waitFor(async () => (await agent('idle-twin')).status?.ready === true, 15_000, { what: 'idle-twin ready again' });
  const noEndpoints = run(['agent', 'attach', 'idle-twin', '-n', ns, '--local-port', '0']);
  expect(noEndpoints.status).toBe(1);
  expect(noEndpoints.stderr).toMatch(/agent idle-twin's server is not reachable through the API server: no endpoints available for service "idle-twin"/);
});
