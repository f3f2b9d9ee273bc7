/**
 * Git Auto-Sync, Rollout policy, on the real API server with the real HTTPS git server: a private repository behind
 * Basic auth, served with a private CA, reached through a recording CONNECT proxy. GitRolloutRuntime decides from the
 * objects as the server has them, and a WriteExecutor writes the decision (what reconcileAgent will do); the test
 * plays the clock (fake, so the 10-minute interval and the 1-hour safety timeout take no time) and the Task
 * lifecycle (status patches).
 */
import * as fs from 'fs';
import { Agent, AgentTemplate } from '../../src';
import { lsRemote, type LsRemoteOptions } from '../../src/controller/remotes/git-remote';
import { GitRolloutRuntime, type GitRolloutResult } from '../../src/controller/remotes/git-rollout-runtime';
import { gitHashAnnotation } from '../../src/controller/decide';
import { WriteExecutor } from '../../src/controller/kube/executor';
import { Rest } from '../../src/controller/kube/rest';
import {
  ConnectProxy,
  GIT_PAT,
  GIT_USER,
  GitServer,
  Sandbox,
  useGitHosting,
  watchProcArgv,
} from '../fixtures';
import { Obj, applyCrds, createNamespace, kubeRequest, rawRequest, testKubeConfig, useTestCluster } from '../harness/apiserver';
import { chart } from '../util/synth';
import { applyChart, condition, createTask, getAgent, patch } from './controller-kit';

jest.setTimeout(120_000);
const cluster = useTestCluster();

const MIN = 60_000;
const base = { workspaceDir: '/workspace', serviceAccountName: 'kubeopencode-agent' };
const b64 = (s: string) => Buffer.from(s).toString('base64');
const depPath = (ns: string, agent: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${agent}-server`;
const tasksPath = (ns: string, name = '') => `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks${name ? `/${name}` : ''}`;
const podAnnotations = async (ns: string, agent = 'agent'): Promise<Record<string, string>> =>
  (await kubeRequest('GET', depPath(ns, agent))).spec.template.metadata.annotations ?? {};
const gitHashKeys = (a: Record<string, string>) => Object.keys(a).filter((k) => k.startsWith('kubeopencode.io/git-hash-'));

const hosting = useGitHosting({ prefix: 'koc-git-rollout-' });
let sb: Sandbox;
let srv: GitServer;
let proxy: ConnectProxy;
let rest: Rest;
let executor: WriteExecutor;
let caPem: string;
/** Every ls-remote the runtime asked for. */
const calls: LsRemoteOptions[] = [];
/** The real ls-remote, with git wrapped by the sandbox's argv-logging shim. */
const loggedLsRemote = (o: LsRemoteOptions) => {
  calls.push(o);
  return lsRemote({ ...o, path: `${sb.shimDir}:${process.env.PATH}` });
};

beforeAll(async () => {
  cluster.kc();
  ({ sb, srv, proxy, caPem } = hosting);
  await applyCrds();
  rest = new Rest(testKubeConfig(), { fieldManager: 'kubeopencode-controller' });
  executor = new WriteExecutor(rest);
});

afterAll(() => {
  rest?.close();
});

/** One Agent reconcile's worth of Git rollout: read, decide, write. */
async function step(rt: GitRolloutRuntime, ns: string, now: number, agentName = 'agent'): Promise<GitRolloutResult> {
  const agent = await getAgent(ns, agentName);
  const deployment = await kubeRequest('GET', depPath(ns, agentName));
  const tasks = (await kubeRequest('GET', tasksPath(ns))).items.filter((t: Obj) => t.spec?.agentRef?.name === agentName);
  const r = await rt.reconcile(agent, deployment, tasks, now);
  await executor.execute(r.writes, {
    objectOf: (kind, _ns, name) => (kind === 'Agent' && name === agentName ? agent : undefined),
    podTemplate: async () => undefined,
  });
  return r;
}

async function setTaskPhase(ns: string, name: string, phase: 'Running' | 'Completed', at: number): Promise<void> {
  const t = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
  await patch(tasksPath(ns, name), { status: { phase, ...(phase === 'Running' ? { startTime: t } : { completionTime: t }) } }, '/status');
}

async function secretAndCa(ns: string, ca: 'ConfigMap' | 'Secret'): Promise<void> {
  await kubeRequest('POST', `/api/v1/namespaces/${ns}/secrets`, {
    body: { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'git-creds' }, data: { username: b64(GIT_USER), password: b64(`${GIT_PAT}\n`) } },
  });
  if (ca === 'ConfigMap') {
    await kubeRequest('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'git-ca' }, data: { 'ca-bundle.crt': caPem } },
    });
  } else {
    await kubeRequest('POST', `/api/v1/namespaces/${ns}/secrets`, {
      body: { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'git-ca' }, data: { 'ca.crt': b64(caPem) } },
    });
  }
}

describe('an Agent with a Rollout context on a private repository (secretRef, caBundle, proxy)', () => {
  const CTX = 'agent-config';
  const KEY = `kubeopencode.io/git-hash-${CTX}`;
  const t0 = Math.floor(Date.now() / 1000) * 1000;
  let clock = t0;
  let ns: string;
  let rt: GitRolloutRuntime;
  let watch: ReturnType<typeof watchProcArgv> | undefined;
  let rolledTo: string;
  const stopWatch = async () => {
    const w = watch;
    watch = undefined;
    return w ? w.stop() : [];
  };
  afterAll(async () => {
    await stopWatch().catch(() => undefined);
  });

  beforeAll(async () => {
    ns = await createNamespace();
    await secretAndCa(ns, 'ConfigMap');
    const c = chart(ns);
    new Agent(c, 'agent', {
      ...base,
      contexts: [{
        name: CTX,
        type: 'Git',
        git: { repository: srv.repos.secret.url, ref: 'main', secretRef: { name: 'git-creds' }, sync: { enabled: true, interval: '10m', policy: 'Rollout' } },
        mountPath: 'config',
      }],
      caBundle: { configMapRef: { name: 'git-ca' } },
      // noProxy does not cover 127.0.0.1: the git server is reached through the proxy
      proxy: { httpsProxy: proxy.url, noProxy: 'example.com' },
    });
    await applyChart(c);
    rt = new GitRolloutRuntime({ rest, lsRemote: loggedLsRemote, now: () => clock });
    fs.writeFileSync(sb.argvLog, '');
    watch = watchProcArgv([GIT_PAT]);
  });

  test('the annotation the synth wrote lists the context', async () => {
    const d = await kubeRequest('GET', depPath(ns, 'agent'));
    expect(JSON.parse(d.metadata.annotations['kubeopencode.io/git-rollout'])).toEqual([
      { name: CTX, repository: srv.repos.secret.url, ref: 'main', interval: '10m', secretRef: 'git-creds' },
    ]);
  });

  test('first check: the commit is recorded in status.gitSyncStatuses, nothing rolls; via the proxy, with the Secret and the CA', async () => {
    const connects = proxy.connects.length;
    const requests = srv.requests.length;
    const r = await step(rt, ns, clock);
    expect(r.problems).toEqual([]);
    expect(r.checked).toEqual([CTX]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ repository: srv.repos.secret.url, ref: 'main', credentials: { username: GIT_USER, password: `${GIT_PAT}\n` }, caPem });
    expect(calls[0].proxy).toEqual({ httpsProxy: proxy.url, noProxy: 'example.com,.svc,.cluster.local' });
    const agent = await getAgent(ns, 'agent');
    expect(agent.status.gitSyncStatuses).toEqual([{ name: CTX, commitHash: srv.repos.secret.commits.p2, lastSynced: new Date(t0).toISOString().replace('.000Z', 'Z') }]);
    expect(condition(agent, 'GitSyncPending')).toBeUndefined();
    expect(gitHashKeys(await podAnnotations(ns))).toEqual([]);
    expect(proxy.connects.slice(connects)).toContain(`127.0.0.1:${srv.port}`);
    const mine = srv.requests.slice(requests);
    expect(mine.some((q) => q.url.startsWith('/private/secret.git/info/refs') && q.status === 200 && q.user === GIT_USER)).toBe(true);
    expect(r.wakeAt).toBe(t0 + 10 * MIN);
    expect(r.nextCheckAt).toBe(t0 + 10 * MIN);
  });

  test('the interval is honoured: no second ls-remote before 10 minutes, even with a new commit waiting', async () => {
    rolledTo = srv.pushCommit(srv.repos.secret, { 'SECRET.md': 'private v3\n' });
    for (const at of [t0 + 1000, t0 + 5 * MIN, t0 + 10 * MIN - 1]) {
      clock = at;
      const r = await step(rt, ns, clock);
      expect(r).toMatchObject({ writes: [], checked: [], wakeAt: t0 + 10 * MIN });
    }
    expect(calls).toHaveLength(1);
    expect(gitHashKeys(await podAnnotations(ns))).toEqual([]);
  });

  test('a new commit and no active Task: the pod template gets kubeopencode.io/git-hash-<ctx> at once', async () => {
    const before = await kubeRequest('GET', depPath(ns, 'agent'));
    clock = t0 + 10 * MIN;
    const r = await step(rt, ns, clock);
    expect(r.checked).toEqual([CTX]);
    expect(calls).toHaveLength(2);
    const after = await kubeRequest('GET', depPath(ns, 'agent'));
    expect(after.spec.template.metadata.annotations[KEY]).toBe(rolledTo);
    expect(after.metadata.generation).toBe(before.metadata.generation + 1); // a new ReplicaSet would roll out
    const agent = await getAgent(ns, 'agent');
    expect(agent.status.gitSyncStatuses).toEqual([expect.objectContaining({ name: CTX, commitHash: rolledTo })]);
    // deciding again changes nothing
    expect((await step(rt, ns, clock + 1000)).writes).toEqual([]);
  });

  test('a new commit under a Running Task: GitSyncPending=True/WaitingForTasks, the annotation stays', async () => {
    await createTask(ns, 'busy', { agentRef: { name: 'agent' }, description: 'x' });
    await setTaskPhase(ns, 'busy', 'Running', clock);
    const next = srv.pushCommit(srv.repos.secret, { 'SECRET.md': 'private v4\n' });
    clock = t0 + 20 * MIN;
    const r = await step(rt, ns, clock);
    expect(r.checked).toEqual([CTX]);
    expect((await podAnnotations(ns))[KEY]).toBe(rolledTo);
    const agent = await getAgent(ns, 'agent');
    expect(condition(agent, 'GitSyncPending')).toMatchObject({ status: 'True', reason: 'WaitingForTasks' });
    expect(agent.status.gitSyncStatuses[0].commitHash).toBe(rolledTo);
    expect(r.wakeAt).toBe(clock + 10 * MIN); // the next check comes before the 1-hour deadline
    // a Task of another Agent or a finished one would not count; this one does until it finishes
    const again = await step(rt, ns, clock + 1000);
    expect(again.writes).toEqual([]);
    expect(calls).toHaveLength(3);
    rolledTo = next;
  });

  test('the Task completes: the rollout happens on the next reconcile, without asking the remote again', async () => {
    await setTaskPhase(ns, 'busy', 'Completed', clock + 2000);
    clock += 3000;
    const r = await step(rt, ns, clock);
    expect(r.checked).toEqual([]);
    expect(calls).toHaveLength(3);
    expect((await podAnnotations(ns))[KEY]).toBe(rolledTo);
    const agent = await getAgent(ns, 'agent');
    expect(condition(agent, 'GitSyncPending')).toMatchObject({ status: 'False', reason: 'UpToDate' });
    expect(agent.status.gitSyncStatuses[0].commitHash).toBe(rolledTo);
  });

  test('a Task that never ends: the rollout is forced 1 hour after GitSyncPending turned True', async () => {
    await createTask(ns, 'forever', { agentRef: { name: 'agent' }, description: 'x' });
    await setTaskPhase(ns, 'forever', 'Running', clock);
    const next = srv.pushCommit(srv.repos.secret, { 'SECRET.md': 'private v5\n' });
    clock = t0 + 40 * MIN;
    await step(rt, ns, clock);
    const pending = condition(await getAgent(ns, 'agent'), 'GitSyncPending');
    expect(pending).toMatchObject({ status: 'True', reason: 'WaitingForTasks' });
    const since = Date.parse(pending.lastTransitionTime);
    expect(since).toBe(clock);
    // checks continue every 10 minutes; nothing rolls until the deadline
    for (let at = clock + 10 * MIN; at < since + 60 * MIN; at += 10 * MIN) {
      clock = at;
      const r = await step(rt, ns, clock);
      expect(r.writes).toEqual([]);
      expect(r.wakeAt).toBe(Math.min(clock + 10 * MIN, since + 60 * MIN));
    }
    clock = since + 60 * MIN - 1000;
    expect((await step(rt, ns, clock)).writes.filter((w) => w.kind === 'patchServerPodTemplate')).toEqual([]);
    expect((await podAnnotations(ns))[KEY]).toBe(rolledTo);
    clock = since + 60 * MIN;
    await step(rt, ns, clock);
    expect((await podAnnotations(ns))[KEY]).toBe(next);
    expect((await kubeRequest('GET', tasksPath(ns, 'forever'))).status.phase).toBe('Running');
    const agent = await getAgent(ns, 'agent');
    expect(condition(agent, 'GitSyncPending')).toMatchObject({ status: 'False', reason: 'UpToDate' });
    expect(agent.status.gitSyncStatuses[0].commitHash).toBe(next);
  });

  test('the token never appeared in any argv or process environment; git ran once per check, nothing more', async () => {
    expect(await stopWatch()).toEqual([]);
    const argv = fs.readFileSync(sb.argvLog, 'utf8').split('\n').filter(Boolean);
    expect(argv).toHaveLength(calls.length);
    for (const line of argv) expect(line).toMatch(/^git ls-remote -- https:\/\/127\.0\.0\.1:\d+\/private\/secret\.git refs\/heads\/main /);
    expect(argv.join('\n')).not.toContain(GIT_PAT);
  });
});

describe('an Agent whose context and CA come from its AgentTemplate; the cluster proxy; a long context name', () => {
  // 60 characters: `git-hash-<name>` would be 69, over the 63-character limit of an annotation key's name part
  const CTX = 'configuration-repository-of-the-platform-team-for-all-agents';
  const t0 = Math.floor(Date.now() / 1000) * 1000;

  test('CA from the server pod\'s custom-ca volume (a Secret), proxy from KubeOpenCodeConfig, shortened annotation key', async () => {
    expect(CTX).toHaveLength(60);
    const ns = await createNamespace();
    await secretAndCa(ns, 'Secret');
    const c = chart(ns);
    const template = new AgentTemplate(c, 'team', {
      ...base,
      contexts: [{
        name: CTX,
        type: 'Git',
        git: { repository: srv.repos.secret.url, ref: 'refs/heads/main', secretRef: { name: 'git-creds' }, sync: { enabled: true, interval: '5m', policy: 'Rollout' } },
        mountPath: 'platform',
      }],
      caBundle: { secretRef: { name: 'git-ca' } },
    });
    new Agent(c, 'templated', { templateRef: template });
    await applyChart(c);
    const agent = await getAgent(ns, 'templated');
    expect(agent.spec.contexts).toBeUndefined();
    expect(agent.spec.caBundle).toBeUndefined();
    expect(agent.spec.proxy).toBeUndefined();

    const connects = proxy.connects.length;
    const rt = new GitRolloutRuntime({ rest, lsRemote: loggedLsRemote, clusterProxy: () => ({ httpsProxy: proxy.url }) });
    const first = await step(rt, ns, t0, 'templated');
    expect(first.problems).toEqual([]);
    expect((await getAgent(ns, 'templated')).status.gitSyncStatuses).toEqual([expect.objectContaining({ name: CTX, commitHash: srv.repos.secret.commits[Object.keys(srv.repos.secret.commits).pop()!] })]);
    expect(proxy.connects.slice(connects)).toContain(`127.0.0.1:${srv.port}`);

    const next = srv.pushCommit(srv.repos.secret, { 'SECRET.md': 'private v6\n' });
    expect((await step(rt, ns, t0 + 5 * MIN - 1, 'templated')).checked).toEqual([]);
    const r = await step(rt, ns, t0 + 5 * MIN, 'templated');
    const key = gitHashAnnotation(CTX);
    expect(key).toMatch(/^kubeopencode\.io\/git-hash-configuration-repository-of-the-platform-[0-9a-f]{8}$/);
    expect(key.split('/')[1].length).toBeLessThanOrEqual(63);
    expect(r.writes[0]).toEqual({ kind: 'patchServerPodTemplate', namespace: ns, deploymentName: 'templated-server', annotations: { [key]: next } });
    const annotations = await podAnnotations(ns, 'templated');
    expect(gitHashKeys(annotations)).toEqual([key]);
    expect(annotations[key]).toBe(next);
    // idempotent through the shortened key: the decision sees its own annotation
    expect((await step(rt, ns, t0 + 5 * MIN + 1000, 'templated')).writes).toEqual([]);

    // the unshortened key is what an API server refuses (a real one validates the pod template's metadata as it does
    // an object's; the test server validates only objects' own metadata, so that is where this shows it)
    const refused = await rawRequest('PATCH', depPath(ns, 'templated'), {
      contentType: 'application/merge-patch+json',
      body: { metadata: { annotations: { [`kubeopencode.io/git-hash-${CTX}`]: next } } },
    });
    expect(refused.status).toBe(422);
    expect(JSON.stringify(refused.body)).toMatch(/name part must be no more than 63 bytes/);
  });

  test('problems are reported, not thrown: a missing Secret, a missing CA, an unreachable repository', async () => {
    const ns = await createNamespace();
    const c = chart(ns);
    new Agent(c, 'broken', {
      ...base,
      contexts: [
        { name: 'no-secret', type: 'Git', git: { repository: srv.repos.secret.url, secretRef: { name: 'missing' }, sync: { enabled: true, interval: '1m', policy: 'Rollout' } }, mountPath: 'a' },
        { name: 'public', type: 'Git', git: { repository: `${srv.origin}/public/missing.git`, sync: { enabled: true, policy: 'Rollout' } }, mountPath: 'b' },
      ],
      caBundle: { configMapRef: { name: 'git-ca' } },
    });
    await applyChart(c);
    const rt = new GitRolloutRuntime({ rest, lsRemote: loggedLsRemote });
    const before = calls.length;
    const r = await step(rt, ns, t0, 'broken');
    expect(calls.length).toBe(before); // without the CA nothing is worth asking
    expect(r.writes).toEqual([]);
    expect(r.problems.map((p) => p.context).sort()).toEqual(['no-secret', 'public']);
    expect(r.problems[0].message).toMatch(new RegExp(`CA bundle: ConfigMap ${ns}/git-ca does not exist`));
    // failures retry sooner than the interval (15 s, doubling, at most the interval)
    expect(r.nextCheckAt).toBe(t0 + 15_000);

    await kubeRequest('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'git-ca' }, data: { 'ca-bundle.crt': caPem } },
    });
    const r2 = await step(rt, ns, t0 + 15_000, 'broken');
    const byCtx = Object.fromEntries(r2.problems.map((p) => [p.context, p.message]));
    expect(byCtx['no-secret']).toBe(`Secret ${ns}/missing (git.secretRef of context 'no-secret') does not exist`);
    expect(byCtx.public).toMatch(new RegExp(`git ls-remote ${srv.origin}/public/missing.git \\(ref 'HEAD'\\): the repository does not exist`));
    expect(r2.nextCheckAt).toBe(t0 + 15_000 + 30_000);
    expect((await getAgent(ns, 'broken')).status?.gitSyncStatuses).toBeUndefined();
  });
});
