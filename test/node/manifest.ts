import { Obj } from '../fixtures/kubelet';
import { PodInput } from './node';

/** ConfigMaps and Secrets (decoded) of a synthesized manifest, by name, as the node harness takes them. */
export function manifestSources(objects: Obj[], extraSecrets: Record<string, Record<string, string>> = {}): Pick<PodInput, 'configMaps' | 'secrets'> {
  const configMaps = Object.fromEntries(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, { ...(o.data ?? {}) }]));
  const secrets = Object.fromEntries(objects.filter((o) => o.kind === 'Secret').map((o) => [o.metadata.name, {
    ...Object.fromEntries(Object.entries(o.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), 'base64').toString('utf8')])),
    ...(o.stringData ?? {}),
  }]));
  return { configMaps, secrets: { ...secrets, ...extraSecrets } };
}

/** The pod spec of a Deployment / Job / CronJob / PodTemplate. */
export function podSpecOf(o: Obj): Obj {
  switch (o.kind) {
    case 'Deployment':
    case 'Job':
      return o.spec.template.spec;
    case 'CronJob':
      return o.spec.jobTemplate.spec.template.spec;
    case 'PodTemplate':
      return o.template.spec;
    case 'Pod':
      return o.spec;
    default:
      throw new Error(`${o.kind} ${o.metadata?.name} has no pod spec`);
  }
}
