import { App, Chart, Testing } from 'cdk8s';
import { assertValidManifest } from './k8s-validate';
import { podSpecsOf, restrictedViolations } from './pss';

export type Obj = Record<string, any>;

/** A fresh chart in its own app (optionally with a namespace). */
export function chart(namespace?: string): Chart {
  const app = Testing.app();
  return new Chart(app, 'test', { namespace });
}

export interface SynthOptions {
  /** Check every pod against the Restricted Pod Security Standard (off only for apps that opt out on purpose). @default true */
  readonly restricted?: boolean;
}

/**
 * Synthesizes a chart like `cdk8s synth` does and validates every object strictly (unknown fields are errors) against
 * the Kubernetes OpenAPI schema and crds/, and every pod against the Restricted Pod Security Standard. Every test that
 * synthesizes goes through here.
 */
export function synth(c: Chart, opts: SynthOptions = {}): Manifest {
  const objects = Testing.synth(c) as Obj[];
  assertValidManifest(objects);
  assertResources(objects);
  if (opts.restricted ?? true) assertRestricted(objects);
  return new Manifest(objects);
}

/** Synthesizes a whole app (all charts). */
export function synthApp(app: App, opts: SynthOptions = {}): Manifest {
  const objects = app.charts.flatMap((c) => c.toJson()) as Obj[];
  assertValidManifest(objects);
  assertResources(objects);
  if (opts.restricted ?? true) assertRestricted(objects);
  return new Manifest(objects);
}

function assertResources(objects: Obj[]): void {
  const missing = containersWithoutResources(objects);
  if (missing.length) throw new Error(`containers without requests and limits:\n  ${missing.join('\n  ')}`);
}

/** Throws, naming each pod and control, when a pod of the manifest would be refused by a `restricted` namespace. */
export function assertRestricted(objects: readonly Obj[]): void {
  const problems = podSpecsOf(objects).flatMap(([id, spec]) => restrictedViolations(spec).map((v) => `${id}: ${v}`));
  if (problems.length) throw new Error(`pods a restricted namespace would refuse:\n${problems.join('\n')}`);
}

export class Manifest {
  constructor(public readonly objects: Obj[]) {}

  find(kind: string, name: string): Obj {
    const o = this.objects.find((x) => x.kind === kind && x.metadata?.name === name);
    if (!o) throw new Error(`no ${kind} ${name}; have: ${this.objects.map((x) => `${x.kind}/${x.metadata?.name}`).join(', ')}`);
    return o;
  }

  all(kind: string): Obj[] {
    return this.objects.filter((x) => x.kind === kind);
  }

  names(): string[] {
    return this.objects.map((x) => `${x.kind}/${x.metadata?.name}`);
  }
}

/** The pod spec of a Deployment or PodTemplate. */
export function podSpec(o: Obj): Obj {
  return o.kind === 'PodTemplate' ? o.template.spec : o.spec.template.spec;
}

export function container(pod: Obj, name: string): Obj {
  const c = [...(pod.initContainers ?? []), ...pod.containers].find((x: Obj) => x.name === name);
  if (!c) throw new Error(`no container ${name}; have ${[...(pod.initContainers ?? []), ...pod.containers].map((x: Obj) => x.name)}`);
  return c;
}

export function allContainers(pod: Obj): Obj[] {
  return [...(pod.initContainers ?? []), ...pod.containers];
}

/** env of a container as a name → value (or valueFrom) map. */
export function envOf(c: Obj): Record<string, any> {
  return Object.fromEntries((c.env ?? []).map((e: Obj) => [e.name, e.value ?? e.valueFrom]));
}

export function mountOf(c: Obj, mountPath: string): Obj | undefined {
  return (c.volumeMounts ?? []).find((m: Obj) => m.mountPath === mountPath);
}

export function volume(pod: Obj, name: string): Obj {
  const v = pod.volumes.find((x: Obj) => x.name === name);
  if (!v) throw new Error(`no volume ${name}`);
  return v;
}

/** The shell script of a `/bin/sh -c` container as the container sees it (the kubelet turns `$$` into `$`). */
export function scriptOf(c: Obj): string {
  expect(c.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
  return c.command[2].replace(/\$\$/g, '$');
}

/**
 * Every container of every pod the objects hold (Deployments, PodTemplates, CronJobs, … found by walking the whole
 * object), with the path it sits at.
 */
export function containersIn(objects: Obj[]): Array<{ at: string; container: Obj }> {
  const found: Array<{ at: string; container: Obj }> = [];
  const walk = (v: unknown, at: string) => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${at}[${i}]`));
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if ((k === 'containers' || k === 'initContainers') && Array.isArray(x)) {
          x.forEach((c: Obj) => found.push({ at: `${at}.${k}[${c.name}]`, container: c }));
        } else {
          walk(x, `${at}.${k}`);
        }
      }
    }
  };
  for (const o of objects) walk(o, `${o.kind}/${o.metadata?.name}`);
  return found;
}

/** Containers without both requests and limits: a namespace with a ResourceQuota would reject their pods. */
export function containersWithoutResources(objects: Obj[]): string[] {
  const nonEmpty = (m: unknown) => !!m && typeof m === 'object' && Object.keys(m).length > 0;
  return containersIn(objects)
    .filter(({ container }) => !nonEmpty(container.resources?.requests) || !nonEmpty(container.resources?.limits))
    .map(({ at }) => at);
}
