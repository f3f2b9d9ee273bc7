import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertValidManifest, DEFAULT_CRD_DIR, parseYamlDocuments, validateManifest } from '../util/k8s-validate';

const deployment = (spec: Record<string, unknown> = {}, name = 'agent'): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'team-a', labels: { 'app.kubernetes.io/name': 'agent' } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'agent' } },
    template: {
      metadata: { labels: { app: 'agent' } },
      spec: {
        initContainers: [{ name: 'clone', image: 'alpine/git', env: [{ name: 'GIT_SSL_CAINFO', value: '/etc/ca/bundle.pem' }] }],
        containers: [{
          name: 'agent', image: 'node:20', ports: [{ containerPort: 4096 }],
          resources: { limits: { cpu: '500m', memory: '1Gi' }, requests: { cpu: 0.25 } },
          livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
        }],
        volumes: [{ name: 'work', emptyDir: {} }],
      },
    },
    ...spec,
  },
});

/** errors for one object, without the "[0] apps/v1 Deployment team-a/agent: " prefix */
function errorsOf(obj: unknown, crdDir?: string): string[] {
  return validateManifest([obj], { crdDir }).map((e) => e.replace(/^\[\d+\] [^:]*: /, ''));
}

describe('validateManifest: what a node refuses', () => {
  test('a mount point below a read-only mount of another volume (runc: read-only file system)', () => {
    const pod = (mounts: unknown[]) => ({
      apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: 't', namespace: 'team-a' },
      template: { spec: { containers: [{ name: 'main', image: 'x:1', volumeMounts: mounts }], volumes: [{ name: 'tools', emptyDir: {} }, { name: 'cfg', configMap: { name: 'c' } }] } },
    });
    expect(errorsOf(pod([
      { name: 'tools', mountPath: '/tools', readOnly: true },
      { name: 'cfg', mountPath: '/tools/opencode.json', subPath: 'opencode.json', readOnly: true },
    ]))).toEqual([expect.stringMatching(/container 'main': \/tools\/opencode.json \(volume cfg\) is mounted below the read-only mount \/tools \(volume tools\)/)]);
    // the same below a writable mount is fine, and so is a read-only mount below a writable one
    expect(errorsOf(pod([
      { name: 'tools', mountPath: '/tools' },
      { name: 'cfg', mountPath: '/tools/opencode.json', subPath: 'opencode.json', readOnly: true },
    ]))).toEqual([]);
  });
});

describe('validateManifest: built-in kinds', () => {
  test('accepts valid objects of many kinds', () => {
    const objs = [
      deployment(),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'team-a' }, data: { 'a.json': '{}' } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'team-a' }, type: 'Opaque', data: { token: 'aGVsbG8=' }, stringData: { x: 'plain' } },
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'agent', namespace: 'team-a' }, spec: { selector: { app: 'agent' }, ports: [{ port: 80, targetPort: 4096 }] } },
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly', namespace: 'team-a' }, spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'x' }] } } } } } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:kubeopencode:controller' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }] },
      { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'team-a' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } },
      { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'leader', namespace: 'team-a' }, spec: { holderIdentity: 'pod-1', leaseDurationSeconds: 15 } },
      { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'work', namespace: 'team-a' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } } } },
    ];
    expect(validateManifest(objs)).toEqual([]);
    expect(() => assertValidManifest(objs)).not.toThrow();
  });

  test('unknown fields (typos) are errors at any depth', () => {
    const d = deployment() as any;
    d.spec.template.spec.initContainer = d.spec.template.spec.initContainers;
    d.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    d.spec.replicaz = 2;
    expect(errorsOf(d)).toEqual(expect.arrayContaining([
      "/spec has unknown field 'replicaz'",
      "/spec/template/spec has unknown field 'initContainer'",
      "/spec/template/spec/containers/0 has unknown field 'imagePullPolicyy'",
    ]));
    expect(errorsOf({ ...deployment(), metadata: { name: 'x', lables: { a: 'b' } } })).toContain("/metadata has unknown field 'lables'");
  });

  test('wrong types are errors; int-or-string and quantities accept both forms', () => {
    expect(errorsOf(deployment({ replicas: '3' }))).toEqual(['/spec/replicas must be integer']);
    expect(errorsOf(deployment({ replicas: 2 ** 31 }))).toEqual(['/spec/replicas must match format "int32"']);
    expect(errorsOf(deployment({ strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } } }))).toEqual([]);
    expect(errorsOf(deployment({ strategy: { rollingUpdate: { maxSurge: true } } }))).toEqual(expect.arrayContaining(['/spec/strategy/rollingUpdate/maxSurge must be integer']));
    expect(errorsOf({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { token: 'not base64!' } })).toEqual(['/data/token must match format "byte"']);
  });

  test('missing required fields are errors', () => {
    const d = deployment() as any;
    delete d.spec.template.spec.containers[0].name;
    delete d.spec.selector;
    expect(errorsOf(d)).toEqual(expect.arrayContaining([
      "/spec must have required property 'selector'",
      "/spec/template/spec/containers/0 must have required property 'name'",
    ]));
    expect(errorsOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })).toEqual(['/metadata/name or /metadata/generateName is required']);
  });

  test('bad enum values are errors', () => {
    const d = deployment() as any;
    d.spec.template.spec.containers[0].imagePullPolicy = 'Sometimes';
    d.spec.template.spec.restartPolicy = 'Maybe';
    expect(errorsOf(d)).toEqual([
      '/spec/template/spec/containers/0/imagePullPolicy must be equal to one of the allowed values ["Always","IfNotPresent","Never"]',
      '/spec/template/spec/restartPolicy must be equal to one of the allowed values ["Always","Never","OnFailure"]',
    ]);
  });

  test('names, labels and duplicate list keys follow the server rules', () => {
    expect(errorsOf({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'Bad_Name' } })[0]).toMatch(/^\/metadata\/name 'Bad_Name' must be a lowercase RFC 1123 subdomain/);
    expect(errorsOf({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } })[0]).toMatch(/RFC 1123 label/);
    expect(errorsOf({ apiVersion: 'v1', kind: 'Service', metadata: { name: '1svc' }, spec: {} })[0]).toMatch(/RFC 1035 label/);
    expect(errorsOf({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c'.repeat(53) }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { containers: [] } } } } } }))
      .toEqual([`/metadata/name '${'c'.repeat(53)}' must be no more than 52 characters for a CronJob`]);
    expect(errorsOf({ ...deployment(), metadata: { name: 'x', labels: { app: 'a/b', ['k'.repeat(64)]: 'v' } } })).toEqual([
      "/metadata/labels value of 'app': must be empty or consist of alphanumerics, \"-\", \"_\" or \".\", starting and ending with an alphanumeric",
      `/metadata/labels key '${'k'.repeat(64)}': name part must be 1-63 characters`,
    ]);
    const d = deployment() as any;
    d.spec.template.spec.containers.push({ name: 'agent', image: 'other' });
    expect(errorsOf(d)).toEqual(['/spec/template/spec/containers has duplicate entries for key name="agent"']);
  });

  test('unknown kinds and malformed objects are errors', () => {
    expect(errorsOf({ apiVersion: 'example.dev/v1', kind: 'Nope', metadata: { name: 'x' } })[0]).toMatch(/unknown kind: no built-in definition .* and no CRD for Nope.example.dev/);
    expect(errorsOf({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } })[0]).toMatch(/unknown kind/);
    expect(validateManifest([null, { kind: 'Pod' }])).toEqual(['[0] is not an object', '[1] ? Pod <no name>: apiVersion and kind are required strings']);
    expect(() => assertValidManifest([deployment({ replicas: 'x' })])).toThrow(/invalid manifest \(1 error\):\n {2}\[0\] apps\/v1 Deployment team-a\/agent: \/spec\/replicas must be integer/);
  });

  test('duplicate YAML keys are rejected by the strict parser', () => {
    expect(() => parseYamlDocuments('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: "1"}\ndata: {b: "2"}\n')).toThrow(/unique/);
  });
});

const CRD_YAML = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.test.example.dev}
spec:
  group: test.example.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [repo, priority]
            properties:
              repo: {type: string, pattern: '^https://'}
              priority: {type: integer, minimum: 0, maximum: 100}
              mode: {type: string, enum: [Active, Standby], default: Active}
              timeout: {x-kubernetes-int-or-string: true}
              maxRetries: {type: integer, format: int32}
              labels: {type: object, additionalProperties: {type: string}}
              extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
              note: {type: string, nullable: true}
              tags: {type: array, items: {type: string}, x-kubernetes-list-type: set}
              ports:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items: {type: object, required: [name], properties: {name: {type: string}, port: {type: integer}}}
            x-kubernetes-validations:
            - rule: "self.priority <= 100"
          status:
            type: object
            properties:
              phase: {type: string}
  - name: v1alpha0
    served: false
    storage: false
    schema: {openAPIV3Schema: {type: object}}
`;

describe('validateManifest: custom resources and CRDs', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-validate-crds-'));
    fs.writeFileSync(path.join(dir, 'widgets.yaml'), CRD_YAML);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const ok = {
    apiVersion: 'test.example.dev/v1alpha1', kind: 'Widget', metadata: { name: 'w-1', namespace: 'team-a' },
    spec: { repo: 'https://git.example/r.git', priority: 5, timeout: '30m', labels: { a: 'b' }, extra: { anything: [1] }, note: null, tags: ['x', 'y'], ports: [{ name: 'http', port: 80 }] },
  };
  const withSpec = (spec: Record<string, unknown>) => ({ ...ok, spec: { ...ok.spec, ...spec } });

  test('accepts a valid custom resource', () => {
    expect(errorsOf(ok, dir)).toEqual([]);
    expect(errorsOf(withSpec({ timeout: 30 }), dir)).toEqual([]);
  });

  test('catches typos, wrong types, missing required, enums, patterns, ranges and formats', () => {
    expect(errorsOf(withSpec({ priorty: 5 }), dir)).toEqual(["/spec has unknown field 'priorty'"]);
    expect(errorsOf({ ...ok, spce: {} }, dir)).toEqual(["/ has unknown field 'spce'"]);
    expect(errorsOf(withSpec({ priority: '5' }), dir)).toEqual(['/spec/priority must be integer']);
    expect(errorsOf({ ...ok, spec: { repo: 'https://x' } }, dir)).toEqual(["/spec must have required property 'priority'"]);
    expect(errorsOf(withSpec({ mode: 'Sleep' }), dir)).toEqual(['/spec/mode must be equal to one of the allowed values ["Active","Standby"]']);
    expect(errorsOf(withSpec({ repo: 'git@host:r' }), dir)).toEqual(['/spec/repo must match pattern "^https://"']);
    expect(errorsOf(withSpec({ priority: 101 }), dir)).toEqual(['/spec/priority must be <= 100']);
    expect(errorsOf(withSpec({ maxRetries: 2 ** 40 }), dir)).toEqual(['/spec/maxRetries must match format "int32"']);
    expect(errorsOf(withSpec({ tags: ['x', 'x'] }), dir)).toEqual(['/spec/tags has duplicate items (x-kubernetes-list-type: set)']);
    expect(errorsOf(withSpec({ ports: [{ name: 'a' }, { name: 'a', port: 1 }] }), dir)).toEqual(['/spec/ports has duplicate entries for key name="a"']);
  });

  test('checks the envelope: apiVersion/kind, metadata as ObjectMeta, name syntax, served versions', () => {
    expect(errorsOf({ ...ok, metadata: { name: 'W_1' } }, dir)[0]).toMatch(/^\/metadata\/name 'W_1' must be a lowercase RFC 1123 subdomain/);
    expect(errorsOf({ ...ok, metadata: { name: 'w', labelz: {} } }, dir)).toEqual(["/metadata has unknown field 'labelz'"]);
    expect(errorsOf({ ...ok, apiVersion: 'test.example.dev/v1alpha0' }, dir)).toEqual(['version v1alpha0 is not served by CRD widgets.test.example.dev (served: v1alpha1)']);
    expect(errorsOf({ ...ok, apiVersion: 'test.example.dev/v9' }, dir)[0]).toMatch(/version v9 is not served/);
    expect(errorsOf(ok, path.join(dir, 'nonexistent'))[0]).toMatch(/unknown kind/);
  });

  test('reloads the CRD directory when its files change', () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-validate-crds-'));
    try {
      expect(errorsOf(ok, other)[0]).toMatch(/unknown kind/);
      fs.writeFileSync(path.join(other, 'w.yaml'), CRD_YAML);
      expect(errorsOf(ok, other)).toEqual([]);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  test('validates CustomResourceDefinition objects themselves', () => {
    const crd = parseYamlDocuments(CRD_YAML)[0] as any;
    expect(validateManifest([crd])).toEqual([]);
    const bad = structuredClone(crd);
    const priority = bad.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.priority;
    priority.typ = priority.type;
    delete priority.type;
    bad.spec.versions[0].storage = false;
    bad.metadata.name = 'widgets.wrong.dev';
    bad.spec.scope = 'Global';
    expect(errorsOf(bad)).toEqual(expect.arrayContaining([
      "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/priority has unknown field 'typ'",
      "/metadata/name must be '<spec.names.plural>.<spec.group>' = 'widgets.test.example.dev', got 'widgets.wrong.dev'",
      '/spec/versions must have exactly one version with storage: true',
      '/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/priority/type: Required value (structural schema)',
      "/spec/scope must be 'Namespaced' or 'Cluster'",
    ]));
  });

  test('the CRDs of this repository load and are valid CRDs', () => {
    const files = fs.existsSync(DEFAULT_CRD_DIR) ? fs.readdirSync(DEFAULT_CRD_DIR).filter((f) => /\.ya?ml$/.test(f)) : [];
    const docs = files.flatMap((f) => parseYamlDocuments(fs.readFileSync(path.join(DEFAULT_CRD_DIR, f), 'utf8')));
    expect(validateManifest(docs)).toEqual([]);
  });

  test('is fast once compiled (it is called thousands of times)', () => {
    const objs = [deployment(), ok];
    validateManifest(objs, { crdDir: dir });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++) validateManifest(objs, { crdDir: dir });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(ms).toBeLessThan(3000);
  });
});
