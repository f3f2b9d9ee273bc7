/**
 * kubeoc's everyday verbs against the real API server: what each one changes in the cluster, what it prints, and
 * the errors people meet. (Attaching to a live Agent is test/e2e/kubeoc-attach.test.ts.)
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import { Writable } from 'stream';
import { main } from '../../src/cli/main';
import { Obj, applyCrds, createNamespace, kubeRequest, testKubeConfig, useTestCluster, waitFor } from '../harness/apiserver';
import { KUBECONFIG_ENV, readTestClusterState } from '../harness/cluster';
import { Kubelet, bindPod, startKubelet } from '../harness/node';
import { agentIn, createTask, patch } from '../integration/controller-kit';

jest.setTimeout(120_000);
const cluster = useTestCluster();
const KUBEOC = path.resolve(__dirname, '..', '..', 'bin', 'kubeoc');

let kubeconfig: string;
beforeAll(async () => {
  cluster.kc();
  await applyCrds();
  kubeconfig = process.env[KUBECONFIG_ENV] ?? readTestClusterState()!.kubeconfig;
});

class Capture extends Writable {
  public text = '';
  _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.text += chunk.toString('utf8');
    cb();
  }
}

/** Runs kubeoc in-process against the test cluster. */
async function kubeoc(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new Capture();
  const err = new Capture();
  const code = await main([...args, '--kubeconfig', kubeconfig], { out, err });
  return { code, out: out.text, err: err.text };
}

const cr = (plural: string, ns: string, name = '') => `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/${plural}${name ? `/${name}` : ''}`;

async function createCronTask(ns: string, name: string, spec: Obj = {}): Promise<Obj> {
  return kubeRequest('POST', cr('crontasks', ns), {
    body: { apiVersion: 'kubeopencode.io/v1alpha1', kind: 'CronTask', metadata: { name }, spec: { schedule: '0 9 * * 1-5', taskTemplate: { spec: { agentRef: { name: 'agent' }, description: 'scan' } }, ...spec } },
  });
}

describe('kubeoc get', () => {
  test('agents, tasks and crontasks in a namespace, with kubectl-like columns', async () => {
    const ns = await agentIn({ profile: 'Team development agent' });
    await createTask(ns, 'fix-bug', { agentRef: { name: 'agent' }, description: 'fix it' });
    await kubeRequest('PATCH', `${cr('tasks', ns, 'fix-bug')}/status`, { contentType: 'application/merge-patch+json', body: { status: { phase: 'Queued', conditions: [{ type: 'Queued', status: 'True', reason: 'AgentAtCapacity', message: 'x', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z/, 'Z') }] } } });
    await createCronTask(ns, 'daily');

    const agents = await kubeoc('get', 'agents', '-n', ns);
    expect(agents.code).toBe(0);
    const [header, row] = agents.out.trimEnd().split('\n');
    expect(header.split(/\s{2,}/)).toEqual(['NAME', 'STATUS', 'ATTACHED', 'AGE']);
    expect(row).toMatch(/^agent\s+NotReady\s+no\s+\d+s$/); // nothing reconciled status.ready: no controller here

    const wide = await kubeoc('get', 'agents', '-n', ns, '-o', 'wide');
    expect(wide.out).toMatch(/PROFILE/);
    expect(wide.out).toMatch(/Team development agent/);

    const tasks = await kubeoc('get', 'tasks', '-n', ns);
    expect(tasks.out.split('\n')[0].split(/\s{2,}/)).toEqual(['NAME', 'PHASE', 'AGENT', 'REASON', 'AGE']);
    expect(tasks.out).toMatch(/fix-bug\s+Queued\s+agent\s+AgentAtCapacity\s+\d+s/);

    const cron = await kubeoc('get', 'crontasks', '-n', ns);
    expect(cron.out).toMatch(/daily\s+0 9 \* \* 1-5\s+false\s+0\s+<none>\s+\d+s/);
  });

  test('-A lists every namespace with a NAMESPACE column; -o json and -o name', async () => {
    const a = await agentIn({}, 'alpha');
    const b = await agentIn({}, 'beta');
    const all = await kubeoc('get', 'agents', '-A');
    expect(all.out.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+STATUS/);
    expect(all.out).toMatch(new RegExp(`${a}\\s+alpha\\s`));
    expect(all.out).toMatch(new RegExp(`${b}\\s+beta\\s`));
    const json = JSON.parse((await kubeoc('get', 'agents', '-n', a, '-o', 'json')).out);
    expect(json.items.map((i: Obj) => `${i.kind}/${i.metadata.name}`)).toEqual(['Agent/alpha']);
    expect((await kubeoc('get', 'agents', '-n', b, '-o', 'name')).out).toBe('beta\n');
  });

  test('an empty namespace says so; a bad --output is a usage error', async () => {
    const ns = await createNamespace();
    const r = await kubeoc('get', 'tasks', '-n', ns);
    expect(r).toMatchObject({ code: 0, out: '' });
    expect(r.err).toBe(`No tasks found in ${ns} namespace.\n`);
    const bad = await kubeoc('get', 'tasks', '-o', 'xml');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--output xml: allowed are wide, json, yaml, name/);
  });
});

describe('kubeoc agent suspend|resume, crontask suspend|resume|trigger', () => {
  test('agent suspend and resume flip spec.suspend (what the controller scales on)', async () => {
    const ns = await agentIn();
    expect(await kubeoc('agent', 'suspend', 'agent', '-n', ns)).toMatchObject({ code: 0, out: 'agent.kubeopencode.io/agent suspended\n' });
    expect((await kubeRequest('GET', cr('agents', ns, 'agent'))).spec.suspend).toBe(true);
    expect((await kubeoc('agent', 'suspend', 'agent', '-n', ns)).out).toBe('agent.kubeopencode.io/agent already suspended\n');
    expect(await kubeoc('agent', 'resume', 'agent', '-n', ns)).toMatchObject({ code: 0, out: 'agent.kubeopencode.io/agent resumed\n' });
    expect((await kubeRequest('GET', cr('agents', ns, 'agent'))).spec.suspend).toBe(false);
  });

  test('a missing Agent is named; a missing argument is a usage error', async () => {
    const ns = await createNamespace();
    expect(await kubeoc('agent', 'suspend', 'nope', '-n', ns)).toMatchObject({ code: 1, err: `kubeoc: agents nope in namespace ${ns} not found\n` });
    const r = await kubeoc('agent', 'resume', '-n', ns);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/expected exactly one agent name/);
  });

  test('crontask suspend/resume flip spec.suspend; trigger sets kubeopencode.io/trigger=true', async () => {
    const ns = await createNamespace();
    await createCronTask(ns, 'nightly');
    expect((await kubeoc('crontask', 'suspend', 'nightly', '-n', ns)).code).toBe(0);
    expect((await kubeRequest('GET', cr('crontasks', ns, 'nightly'))).spec.suspend).toBe(true);
    expect((await kubeoc('crontask', 'resume', 'nightly', '-n', ns)).code).toBe(0);
    expect((await kubeRequest('GET', cr('crontasks', ns, 'nightly'))).spec.suspend).toBe(false);
    expect((await kubeoc('crontask', 'trigger', 'nightly', '-n', ns)).out).toMatch(/crontask.kubeopencode.io\/nightly triggered/);
    expect((await kubeRequest('GET', cr('crontasks', ns, 'nightly'))).metadata.annotations).toMatchObject({ 'kubeopencode.io/trigger': 'true' });
  });
});

describe('kubeoc task stop|logs', () => {
  let kubelet: Kubelet;
  beforeAll(async () => {
    kubelet = await startKubelet();
  });
  afterAll(async () => {
    await kubelet?.stop();
  });

  test('stop sets kubeopencode.io/stop=true; a finished Task is refused', async () => {
    const ns = await agentIn();
    await createTask(ns, 'long', { agentRef: { name: 'agent' }, description: 'x' });
    expect(await kubeoc('task', 'stop', 'long', '-n', ns)).toMatchObject({ code: 0, out: 'task.kubeopencode.io/long stop requested\n' });
    expect((await kubeRequest('GET', cr('tasks', ns, 'long'))).metadata.annotations['kubeopencode.io/stop']).toBe('true');
    await createTask(ns, 'done', { agentRef: { name: 'agent' }, description: 'x' });
    await patch(cr('tasks', ns, 'done'), { status: { phase: 'Completed' } }, '/status');
    expect(await kubeoc('task', 'stop', 'done', '-n', ns)).toMatchObject({ code: 1, err: 'task done has already finished (phase Completed); nothing to stop\n' });
  });

  async function taskWithPod(ns: string, name: string): Promise<string> {
    await createTask(ns, name, { agentRef: { name: 'agent' }, description: 'x' });
    const pod = `${name}-pod`;
    await kubeRequest('POST', `/api/v1/namespaces/${ns}/pods`, { body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: pod }, spec: { containers: [{ name: 'task', image: 'x' }] } } });
    await patch(cr('tasks', ns, name), { status: { phase: 'Running', podName: pod } }, '/status');
    await bindPod(ns, pod, kubelet.nodeName);
    return pod;
  }

  test('logs prints the task container\'s log through pods/log (API server → node → kubelet)', async () => {
    const ns = await agentIn();
    const pod = await taskWithPod(ns, 'work');
    kubelet.write(ns, pod, 'task', 'STUB-REPLY: done.');
    kubelet.write(ns, pod, 'task', 'second line');
    expect(await kubeoc('task', 'logs', 'work', '-n', ns)).toMatchObject({ code: 0, out: 'STUB-REPLY: done.\nsecond line\n' });
    expect(kubelet.requests.at(-1)).toMatchObject({ path: `/containerLogs/${ns}/${pod}/task` });
  });

  test('logs -f streams lines as they come and ends with the container', async () => {
    const ns = await agentIn();
    const pod = await taskWithPod(ns, 'follow');
    kubelet.write(ns, pod, 'task', 'first');
    const out = new Capture();
    const done = main(['task', 'logs', 'follow', '-n', ns, '-f', '--kubeconfig', kubeconfig], { out, err: new Capture() });
    await waitFor(() => out.text === 'first\n', 10_000, { what: 'the first line' });
    expect(kubelet.requests.at(-1)?.query).toMatchObject({ follow: 'true' });
    kubelet.write(ns, pod, 'task', 'then this');
    await waitFor(() => out.text === 'first\nthen this\n', 10_000, { what: 'the streamed line' });
    kubelet.end(ns, pod, 'task');
    expect(await done).toBe(0);
  });

  test('logs of a Task without a pod says why', async () => {
    const ns = await agentIn();
    await createTask(ns, 'waiting', { agentRef: { name: 'agent' }, description: 'x' });
    await patch(cr('tasks', ns, 'waiting'), { status: { phase: 'Queued', conditions: [{ type: 'Queued', status: 'True', reason: 'AgentSuspended', message: 'x', lastTransitionTime: '2026-01-01T00:00:00Z' }] } }, '/status');
    expect(await kubeoc('task', 'logs', 'waiting', '-n', ns)).toMatchObject({ code: 1, err: 'task waiting has no pod yet (phase Queued, AgentSuspended); try again once it runs\n' });
  });
});

describe('kubeoc as a program', () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => execFileSync(KUBEOC, args, { encoding: 'utf8', env: { ...process.env, ...env } });

  test('version, and --help at every level', async () => {
    expect(run(['version'])).toMatch(/^kubeoc \d+\.\d+\.\d+/);
    expect(run(['--help'])).toMatch(/Commands:\n\s+get\s.*\n\s+agent\s.*\n\s+task\s.*\n\s+crontask\s/);
    for (const args of [['get', '--help'], ['get', 'agents', '-h'], ['agent', '--help'], ['agent', 'attach', '--help'], ['task', 'logs', '--help'], ['crontask', 'trigger', '--help'], ['completion', '--help']]) {
      const r = await kubeoc(...args);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`Usage:\\n  kubeoc ${args.filter((a) => !a.startsWith('-')).join(' ')}`));
    }
    expect((await kubeoc('agent', 'attach', '--help')).out).toMatch(/--local-port <value>/);
  });

  test('the kubeconfig comes from KUBECONFIG, and its context namespace is the default', async () => {
    const ns = await agentIn({}, 'ctx-agent');
    const kc = testKubeConfig();
    const file = path.join(require('os').tmpdir(), `koc-kubeconfig-${process.pid}.yaml`);
    kc.contexts = kc.contexts.map((c) => ({ ...c, namespace: ns }));
    require('fs').writeFileSync(file, kc.exportConfig());
    try {
      expect(run(['get', 'agents', '-o', 'name'], { KUBECONFIG: file })).toBe('ctx-agent\n');
    } finally {
      require('fs').rmSync(file, { force: true });
    }
  });

  test('bash and zsh completion complete commands, flags and Agent names (real shells)', async () => {
    const ns = await agentIn({}, 'team-agent');
    const kc = testKubeConfig();
    const file = path.join(require('os').tmpdir(), `koc-kubeconfig-c-${process.pid}.yaml`);
    require('fs').writeFileSync(file, kc.exportConfig());
    const completion = path.join(require('os').tmpdir(), `koc-completion-${process.pid}.bash`);
    require('fs').writeFileSync(completion, (await kubeoc('completion', 'bash')).out);
    const complete = (line: string) => {
      const words = line.split(' ');
      const script = `source '${completion}'; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _kubeoc; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return execFileSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: file, PATH: `${path.dirname(KUBEOC)}:${process.env.PATH}` } }).trim().split('\n');
    };
    try {
      expect(complete('kubeoc a')).toEqual(['agent']);
      expect(complete('kubeoc agent ')).toEqual(expect.arrayContaining(['attach', 'suspend', 'resume']));
      expect(complete('kubeoc task logs --f')).toEqual(['--follow']);
      expect(complete(`kubeoc agent attach -n ${ns} te`)).toEqual(['team-agent']); // asks `kubeoc get agents -o name`
      // zsh: the same function through bashcompinit (its compgen leaves prefix matching to zsh, so the full candidate set)
      require('fs').writeFileSync(completion, (await kubeoc('completion', 'zsh')).out);
      const zsh = (...words: string[]) => execFileSync('zsh', ['-f', '-c', `autoload -U compinit && compinit -u; source '${completion}'; t() { emulate -L sh; COMP_WORDS=("$@"); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _kubeoc; printf '%s\\n' "\${COMPREPLY[@]}"; }; t ${words.map((w) => `'${w}'`).join(' ')}`],
        { encoding: 'utf8', env: { ...process.env, KUBECONFIG: file, PATH: `${path.dirname(KUBEOC)}:${process.env.PATH}` } }).trim().split('\n');
      expect(zsh('kubeoc', 'agent', '')).toEqual(expect.arrayContaining(['attach', 'suspend', 'resume']));
      expect(zsh('kubeoc', 'task', 'logs', '--f')).toEqual(expect.arrayContaining(['--follow', '-f']));
      expect(zsh('kubeoc', 'agent', 'attach', '-n', ns, 'te')).toContain('team-agent');
    } finally {
      require('fs').rmSync(file, { force: true });
      require('fs').rmSync(completion, { force: true });
    }
  });
});
