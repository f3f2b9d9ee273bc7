/**
 * The CRDs and every synthesized example against a real API server (etcd + an apiserver built from Debian's
 * Kubernetes sources, see scripts/apiserver/): acceptance, printer columns, CEL rules, defaulting, strict fields.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildExamples } from '../../examples/main';
import { Obj, applyCrds, createNamespace, kubeRequest, rawRequest, useTestCluster } from '../harness/apiserver';
import { parseYamlDocuments } from '../util/k8s-validate';
import { resourcePath } from '../util/resources';

jest.setTimeout(120_000);
const cluster = useTestCluster();

const agent = (name: string, spec: Obj = {}) => ({
  apiVersion: 'kubeopencode.io/v1alpha1',
  kind: 'Agent',
  metadata: { name },
  spec: { workspaceDir: '/workspace', serviceAccountName: 'kubeopencode-agent', ...spec },
});

describe('CRDs on a real API server', () => {
  let ns: string;
  beforeAll(async () => {
    cluster.kc();
    await applyCrds();
    ns = await createNamespace();
  });

  test('every CRD in crds/ is accepted and becomes Established', async () => {
    const list = await kubeRequest('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions');
    const ours = list.items.filter((c: Obj) => c.spec.group === 'kubeopencode.io');
    expect(ours.map((c: Obj) => c.metadata.name).sort()).toEqual([
      'agents.kubeopencode.io', 'agenttemplates.kubeopencode.io', 'crontasks.kubeopencode.io', 'kubeopencodeconfigs.kubeopencode.io', 'tasks.kubeopencode.io',
    ]);
    for (const c of ours) expect(c.status.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
  });

  test('defaults are applied as the guide says', async () => {
    const created = await kubeRequest('POST', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents`, {
      body: agent('defaults', { contexts: [{ name: 'c', type: 'Git', git: { repository: 'https://e.com/r.git', sync: { enabled: true } }, mountPath: 'r' }], persistence: { sessions: {} } }),
    });
    expect(created.spec.port).toBe(4096);
    expect(created.spec.suspend).toBe(false);
    expect(created.spec.persistence.sessions.size).toBe('1Gi');
    expect(created.spec.contexts[0].git).toMatchObject({ ref: 'HEAD', depth: 1, recurseSubmodules: false, sync: { enabled: true, interval: '5m', policy: 'HotReload' } });
    const ct = await kubeRequest('POST', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/crontasks`, {
      body: { apiVersion: 'kubeopencode.io/v1alpha1', kind: 'CronTask', metadata: { name: 'scan' }, spec: { schedule: '0 9 * * 1-5', taskTemplate: { spec: { agentRef: { name: 'defaults' }, description: 'x' } } } },
    });
    expect(ct.spec).toMatchObject({ timeZone: 'UTC', concurrencyPolicy: 'Forbid', maxRetainedTasks: 10, suspend: false });
  });

  test('kubectl get agents -o wide shows the printer columns (the Table kubectl asks for)', async () => {
    await kubeRequest('POST', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents`, { body: agent('team-agent', { profile: 'Team development agent' }) });
    await kubeRequest('PATCH', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents/team-agent/status`, {
      contentType: 'application/merge-patch+json',
      body: { status: { conditions: [
        { type: 'ServerReady', status: 'True', reason: 'Ready', message: 'ok', lastTransitionTime: '2026-11-25T10:00:00Z' },
        { type: 'ConnectionActive', status: 'True', reason: 'HeartbeatFresh', message: 'attached', lastTransitionTime: '2026-11-25T10:00:00Z' },
      ] } },
    });
    const res = await rawRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents/team-agent`, {});
    expect(res.status).toBe(200);
    const table = await tableOf(`/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents`);
    const names = table.columnDefinitions.map((c: Obj) => c.name);
    expect(names).toEqual(['Name', 'Profile', 'Status', 'URL', 'Template', 'Attached', 'Age']);
    // -o wide adds the priority-1 columns; the default view shows NAME PROFILE STATUS AGE
    expect(table.columnDefinitions.filter((c: Obj) => c.priority === 0).map((c: Obj) => c.name)).toEqual(['Name', 'Profile', 'Status', 'Age']);
    const row = table.rows.find((r: Obj) => r.cells[0] === 'team-agent');
    expect(row.cells.slice(0, 3)).toEqual(['team-agent', 'Team development agent', 'Ready']);
    expect(row.cells[names.indexOf('Attached')]).toBe('True'); // someone is attached (kubeoc agent attach)
  });

  test.each([
    ['a Task with both refs', 'tasks', { kind: 'Task', spec: { agentRef: { name: 'a' }, templateRef: { name: 't' }, description: 'x' } }, /exactly one of agentRef or templateRef must be set/],
    ['a Task with neither ref', 'tasks', { kind: 'Task', spec: { description: 'x' } }, /exactly one of agentRef or templateRef must be set/],
    ['a bad concurrencyPolicy', 'crontasks', { kind: 'CronTask', spec: { schedule: '* * * * *', concurrencyPolicy: 'Sometimes', taskTemplate: { spec: { agentRef: { name: 'a' }, description: 'x' } } } }, /concurrencyPolicy: Unsupported value: "Sometimes"/],
    ['a Git context without git', 'agents', { kind: 'Agent', spec: { workspaceDir: '/w', serviceAccountName: 'sa', contexts: [{ type: 'Git', mountPath: 'x' }] } }, /git must be set when type is Git, and only then/],
    ['a credential with neither env nor mountPath', 'agents', { kind: 'Agent', spec: { workspaceDir: '/w', serviceAccountName: 'sa', credentials: [{ name: 'c', secretRef: { name: 's', key: 'k' } }] } }, /a credential needs env or mountPath/],
    ['a Task with a Git context', 'tasks', { kind: 'Task', spec: { agentRef: { name: 'a' }, description: 'x', contexts: [{ type: 'Git', git: { repository: 'https://e.com/r.git' }, mountPath: 'r' }] } }, /a Task context must be of type Text without mountPath/],
    ['maxRetainedTasks 0', 'crontasks', { kind: 'CronTask', spec: { schedule: '* * * * *', maxRetainedTasks: 0, taskTemplate: { spec: { agentRef: { name: 'a' }, description: 'x' } } } }, /maxRetainedTasks: Invalid value: 0: spec.maxRetainedTasks in body should be greater than or equal to 1/],
  ])('rejects %s with the CRD\'s message', async (_what, plural, obj, message) => {
    const res = await rawRequest('POST', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/${plural}`, {
      body: { apiVersion: 'kubeopencode.io/v1alpha1', metadata: { name: `bad-${Math.random().toString(36).slice(2, 8)}` }, ...obj },
    });
    expect(res.status).toBe(422);
    expect((res.body as Obj).message).toMatch(message);
  });

  test('KubeOpenCodeConfig must be named cluster', async () => {
    const res = await rawRequest('POST', '/apis/kubeopencode.io/v1alpha1/kubeopencodeconfigs', {
      body: { apiVersion: 'kubeopencode.io/v1alpha1', kind: 'KubeOpenCodeConfig', metadata: { name: 'other' }, spec: {} },
    });
    expect(res.status).toBe(422);
    expect((res.body as Obj).message).toMatch(/must be named cluster/);
  });

  test('a ConfigMap key that is not a key, a file:// repository and credentials in URLs are refused', async () => {
    const create = (name: string, spec: Obj) => rawRequest('POST', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents`, {
      query: { dryRun: 'All' }, body: agent(name, spec),
    });
    const cmKey = (key: string) => ({ contexts: [{ name: 'ops', type: 'ConfigMap', configMap: { name: 'runbooks', key } }] });
    for (const key of ['../../../../var/run/secrets/kubernetes.io/serviceaccount/token', '..data', '.', 'a\nb']) {
      const res = await create('bad-key', cmKey(key));
      expect(res.status).toBe(422);
      expect((res.body as Obj).message).toMatch(/configMap\.key/);
    }
    expect((await create('good-key', cmKey('runbook.md'))).status).toBe(201);
    const git = (repository: string) => ({ contexts: [{ name: 'code', type: 'Git', git: { repository }, mountPath: 'code' }] });
    const refused: Array<[string, RegExp]> = [
      ['https://bot:ghp_TOKEN@github.com/org/repo.git', /git\.repository/],
      ['file:///var/run/secrets', /git\.repository/],
    ];
    for (const [repository, why] of refused) {
      const res = await create('bad-repo', git(repository));
      expect(res.status).toBe(422);
      expect((res.body as Obj).message).toMatch(why);
    }
    const url = await create('bad-url', { contexts: [{ name: 'spec', type: 'URL', url: { source: 'https://u:p@example.com/x' } }] });
    expect(url.status).toBe(422);
    expect((url.body as Obj).message).toMatch(/url\.source/);
    const skill = await create('bad-skill', { skills: [{ name: 'sk', git: { repository: 'https://t@github.com/o/s.git' } }] });
    expect(skill.status).toBe(422);
    for (const ok of ['git@github.com:org/repo.git', 'ssh://git@github.com/org/repo.git', 'https://github.com/org/repo.git?x=a@b']) {
      expect((await create(`good-repo-${ok.length}`, git(ok))).status).toBe(201);
    }
    expect((await create('dot-key', cmKey('.hidden'))).status).toBe(201);
  });

  test('unknown fields are rejected with strict field validation', async () => {
    const res = await rawRequest('POST', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents`, {
      query: { fieldValidation: 'Strict', dryRun: 'All' },
      body: agent('typo', { maxConcurentTasks: 3 }),
    });
    expect(res.status).toBe(400);
    expect((res.body as Obj).message).toMatch(/unknown field "spec.maxConcurentTasks"/);
  });

  test('every manifest examples/ synthesizes is accepted by a server-side dry run with strict field validation', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'examples-'));
    try {
      buildExamples(dir).synth();
      const docs = fs.readdirSync(dir).flatMap((f) => parseYamlDocuments(fs.readFileSync(path.join(dir, f), 'utf8'))) as Obj[];
      // namespaces first, for real (a dry-run namespace does not exist for the next request)
      const namespaces = new Set(docs.map((d) => d.metadata?.namespace).filter(Boolean));
      for (const n of namespaces) await rawRequest('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } } });
      const failures: string[] = [];
      for (const d of docs) {
        const res = await rawRequest('PATCH', resourcePath(d), {
          contentType: 'application/apply-patch+yaml',
          query: { dryRun: 'All', fieldValidation: 'Strict', fieldManager: 'examples-test', force: true },
          body: d,
        });
        if (res.status >= 300) failures.push(`${d.kind}/${d.metadata.name}: ${res.status} ${(res.body as Obj)?.message}`);
      }
      expect(failures).toEqual([]);
      expect(docs.length).toBeGreaterThan(40);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function tableOf(p: string): Promise<Obj> {
  const kc = cluster.kc();
  const server = kc.getCurrentCluster()!.server;
  const https = await import('https');
  const opts: Obj = { headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    https.get(server + p, opts, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(JSON.parse(text)));
    }).on('error', reject);
  });
}
