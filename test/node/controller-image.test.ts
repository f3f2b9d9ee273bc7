/**
 * Issue 14 §4: OUR controller image (built from the root Dockerfile by scripts/node/provision.sh) on the real node,
 * against the real API server, with the in-cluster config a kubelet gives a pod (service-account token, CA,
 * KUBERNETES_SERVICE_*): a CronTask's Job pod running `crontask-fire`, and the controller Deployment of
 * KubeOpenCodeController's manifests. The API server's port is exposed into the node's loopback-only network.
 */
import * as fs from 'fs';
import { Agent, CronTask, KubeOpenCodeController } from '../../src';
import { IMAGES, LABELS, NAMES } from '../../src/api';
import { Obj, applyCrds, createNamespace, kubeRequest, markDeploymentReady, rawRequest, testKubeConfig, useTestCluster, waitFor } from '../harness/apiserver';
import { applyChart, createTask, getPod, getTask, waitForPhase } from '../integration/controller-kit';
import { chart } from '../util/synth';
import { namespaceSources, runDeployment } from './kubelet-loop';
import { Node, Pod, SKIP_VAR, ServiceAccountEmulation, nodeTierSkipped } from './node';

jest.setTimeout(180_000);

const CONTROLLER_NS = 'kubeopencode-system';

if (nodeTierSkipped()) {
  test(`node tier skipped: ${SKIP_VAR}=1`, () => undefined);
}

(nodeTierSkipped() ? describe.skip : describe)('the controller image on a real node (podman + runc) against the API server', () => {
  const cluster = useTestCluster();
  let node: Node;
  let sa: ServiceAccountEmulation;
  const pods: Pod[] = [];

  beforeAll(async () => {
    const current = cluster.kc().getCurrentCluster()!;
    const apiPort = Number(new URL(current.server).port);
    node = await Node.start();
    await node.expose(apiPort); // https://127.0.0.1:<port> inside the node is the API server
    sa = { host: '127.0.0.1', port: apiPort, caCert: fs.readFileSync(testKubeConfig().getCurrentCluster()!.caFile!, 'utf8') };
    // the install manifests (namespace, CRDs, RBAC, Deployment…), as `kubectl apply -f` of the synthesized YAML
    const c = chart();
    new KubeOpenCodeController(c, 'controller', { namespace: CONTROLLER_NS });
    await applyChart(c);
    await applyCrds(); // the same CRDs: waits until they are servable
  });

  afterAll(async () => {
    for (const p of pods) await p.stop();
    await node?.stop();
  });

  const tasksOf = async (ns: string, cronTask: string): Promise<Obj[]> =>
    (await kubeRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/tasks`, { query: { labelSelector: `${LABELS.cronTask}=${cronTask}` } })).items;

  test("a CronTask's Job pod runs `crontask-fire` from the controller image and creates the Task {name}-{unix seconds}", async () => {
    const ns = await createNamespace();
    const c = chart(ns);
    new CronTask(c, 'nightly', { schedule: '* * * * *', taskTemplate: { spec: { agentRef: { name: 'team-agent' }, description: 'Nightly check' } } });
    await applyChart(c);
    const cronJob = await kubeRequest('GET', `/apis/batch/v1/namespaces/${ns}/cronjobs/nightly`);
    const podSpec = cronJob.spec.jobTemplate.spec.template.spec;
    expect(podSpec.containers[0].image).toBe(IMAGES.controller);
    const created = Date.parse((await kubeRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/crontasks/nightly`)).metadata.creationTimestamp);
    // the first due time: the next minute boundary after the CronTask was created (metav1.Time has whole seconds)
    const due = (Math.floor(created / 60_000) + 1) * 60_000;

    let run = 0;
    const fire = async () => {
      const pod = await node.startPod({
        name: `nightly-job-${++run}`,
        namespace: ns,
        spec: podSpec,
        labels: cronJob.spec.jobTemplate.spec.template.metadata?.labels,
        ...(await namespaceSources(ns)),
        serviceAccount: sa,
      });
      pods.push(pod);
      const exit = await pod.exited('crontask-fire');
      if (exit.exitCode !== 0) throw new Error(`crontask-fire exited ${exit.exitCode}: ${exit.startError ?? ''}\n${exit.stdout}\n${exit.stderr}`);
      return exit;
    };

    // fired before anything is due (as a CronJob run by hand would be): the job reads the server and creates nothing.
    // Under load the pod may start only after the due time: then this run is the one that creates the Task.
    const early = await fire();
    let onTime = early;
    if (/"msg":"nothing due"/.test(early.stdout)) {
      expect(await tasksOf(ns, 'nightly')).toEqual([]);
      // the CronJob controller fires at the due time
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now()) + 500));
      onTime = await fire();
    } else {
      expect(Date.now()).toBeGreaterThanOrEqual(due); // it created a Task, so it must have run after the due time
    }
    expect(onTime.stdout).toMatch(/"msg":"created Task"/);
    const tasks = await tasksOf(ns, 'nightly');
    expect(tasks.map((t) => t.metadata.name)).toEqual([NAMES.cronTaskChild('nightly', due / 1000)]);
    expect(tasks[0].spec).toMatchObject({ agentRef: { name: 'team-agent' }, description: 'Nightly check' });
    expect(tasks[0].metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'CronTask', name: 'nightly', controller: true })]);
    // a retried job (backoffLimit) does not create a second Task for the same due time
    await fire();
    expect((await tasksOf(ns, 'nightly')).length).toBe(1);
    // the controller (next test) must not act on this CronTask
    await kubeRequest('DELETE', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/crontasks/nightly`);
  });

  test('the controller Deployment of the install manifests runs from its image: ready, leader, and it drives a Task to Running', async () => {
    const podName = 'kubeopencode-controller-0';
    const controller = await runDeployment(node, CONTROLLER_NS, 'kubeopencode-controller', { serviceAccount: sa, podName, readyTimeoutMs: 90_000 })
      .catch((e: Error) => { throw new Error(`${e.message}\n${pods.map((p) => p.name).join(',')}`); });
    pods.push(controller);
    const port = await node.forward(8081);
    for (const p of ['/healthz', '/readyz']) expect((await fetch(`http://127.0.0.1:${port}${p}`)).status).toBe(200);
    const lease = await waitFor(async () => {
      const l = await rawRequest('GET', `/apis/coordination.k8s.io/v1/namespaces/${CONTROLLER_NS}/leases/kubeopencode-controller`);
      return l.status === 200 && (l.body as Obj).spec?.holderIdentity ? (l.body as Obj) : undefined;
    }, 30_000, { what: 'the Lease' });
    expect(lease.spec.holderIdentity).toBe(podName);

    const ns = await createNamespace();
    const app = chart(ns);
    new Agent(app, 'agent', { workspaceDir: '/workspace', serviceAccountName: 'kubeopencode-agent' });
    await applyChart(app);
    await markDeploymentReady(ns, 'agent-server');
    await createTask(ns, 'from-image', { agentRef: { name: 'agent' }, description: 'hello from the node' });
    const logs = () => `--- controller ---\n${controller.logs('controller').stdout.slice(-3000)}\n${controller.logs('controller').stderr.slice(-3000)}`;
    await waitForPhase(ns, 'from-image', 'Running', 60_000).catch((e: Error) => { throw new Error(`${e.message}\n${logs()}`); });
    // the pod is created and recorded right after the Running write
    const running = await waitFor(async () => {
      const t = await getTask(ns, 'from-image');
      return t.status?.podName ? t : undefined;
    }, 20_000, { what: 'status.podName' });
    expect(running.status.podName).toBe(NAMES.taskPod('from-image'));
    const pod = await waitFor(() => getPod(ns, NAMES.taskPod('from-image')), 20_000, { what: 'the task pod' });
    expect(pod.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Task', name: 'from-image' })]);
    // the Agent's status came from the controller in the image too
    const agent = await waitFor(async () => {
      const a = await kubeRequest('GET', `/apis/kubeopencode.io/v1alpha1/namespaces/${ns}/agents/agent`);
      return a.status?.ready ? a : undefined;
    }, 20_000, { what: 'Agent ready' });
    expect(agent.status.deploymentName).toBe('agent-server');
  });
});
