import { k8s } from 'cdk8s-plus-28';
import type { PodSettings } from '../api';

/**
 * Requests and limits for every container the library emits, so a namespace with a ResourceQuota (on requests or
 * limits, CPU or memory) admits them. A value the user gives replaces the default as a whole, as Kubernetes would
 * read it. The main container's memory follows upstream KubeOpenCode (request 512Mi, limit 4Gi).
 */
export const DEFAULT_RESOURCES = {
  /** The OpenCode server and a template Task's `opencode run` (podSpec.resources). */
  main: { requests: { cpu: '100m', memory: '512Mi' }, limits: { cpu: '2', memory: '4Gi' } },
  /** Init containers and sidecars (podSpec.systemContainers.resources): git, curl and sh. */
  system: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
  /** An Agent's Task pod, `opencode run --attach` (podSpec.systemContainers.attach.resources). */
  attach: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '500m', memory: '1Gi' } },
  /** A CronTask's job, `kubeopencode-controller crontask-fire` (CronTask `jobResources`). */
  cronTaskJob: { requests: { cpu: '10m', memory: '64Mi' }, limits: { cpu: '200m', memory: '256Mi' } },
  /** The controller (KubeOpenCodeController `resources`). */
  controller: { requests: { cpu: '50m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
} as const;

/** Requests and limits as YAML spells them (quantities as strings or numbers), e.g. `{ requests: { cpu: '100m' } }`. */
export interface ResourceSpec {
  /** Requested cpu, memory, … @default - none (Kubernetes then uses the limits) */
  readonly requests?: Record<string, string | number>;
  /** Limits of cpu, memory, … @default - none */
  readonly limits?: Record<string, string | number>;
}

/** podSpec.resources as YAML gives it (quantities as strings or numbers) → the L1 type. */
export function resourceRequirements(r: ResourceSpec | undefined): k8s.ResourceRequirements | undefined {
  if (!r) return undefined;
  const q = (m?: Readonly<Record<string, string | number>>) =>
    m
      ? Object.fromEntries(
        Object.entries(m).map(([k, v]) => [k, typeof v === 'number' ? k8s.Quantity.fromNumber(v) : k8s.Quantity.fromString(v)]),
      )
      : undefined;
  return { ...r, limits: q(r.limits), requests: q(r.requests) } as k8s.ResourceRequirements;
}

/** The L1 form of `given`, or of `dflt` when nothing is given. */
export function resourcesOr(given: ResourceSpec | undefined, dflt: ResourceSpec): k8s.ResourceRequirements {
  return resourceRequirements(given ?? dflt)!;
}

/** podSpec.systemContainers keys (upstream KubeOpenCode's names, plus urlFetch) and the containers they cover. */
export type SystemContainerKind = 'openCodeInit' | 'contextInit' | 'gitInit' | 'gitSync' | 'urlFetch';
const KIND_BY_PREFIX: Array<[string, SystemContainerKind]> = [
  ['opencode-init', 'openCodeInit'],
  ['context-init', 'contextInit'],
  ['git-init', 'gitInit'],
  ['git-sync', 'gitSync'],
  ['url-fetch', 'urlFetch'],
];

export function systemContainerKind(containerName: string): SystemContainerKind | undefined {
  return KIND_BY_PREFIX.find(([p]) => containerName === p || containerName.startsWith(`${p}-`))?.[1];
}

export function mainResources(pod: PodSettings | undefined): k8s.ResourceRequirements {
  return resourceRequirements(pod?.resources ?? DEFAULT_RESOURCES.main)!;
}

export function attachResources(pod: PodSettings | undefined): k8s.ResourceRequirements {
  return resourceRequirements(pod?.systemContainers?.attach?.resources ?? DEFAULT_RESOURCES.attach)!;
}

/** The resources of one init container or sidecar: its own entry, else systemContainers.resources, else the default. */
export function systemResources(pod: PodSettings | undefined, containerName: string): k8s.ResourceRequirements {
  const sc = pod?.systemContainers;
  const kind = systemContainerKind(containerName);
  return resourceRequirements((kind ? sc?.[kind]?.resources : undefined) ?? sc?.resources ?? DEFAULT_RESOURCES.system)!;
}

/** The given init containers or sidecars, each with its resources. */
export function withSystemResources(containers: k8s.Container[], pod: PodSettings | undefined): k8s.Container[] {
  return containers.map((c) => ({ ...c, resources: systemResources(pod, c.name) }));
}

/** Every resources field of podSpec, with its path, for the synth-time field check. */
export function podResourceFields(pod: PodSettings | undefined): Array<[string, ResourceSpec]> {
  const sc = pod?.systemContainers;
  const out: Array<[string, ResourceSpec | undefined]> = [
    ['podSpec.resources', pod?.resources],
    ['podSpec.systemContainers.resources', sc?.resources],
    ...KIND_BY_PREFIX.map(([, k]): [string, ResourceSpec | undefined] => [`podSpec.systemContainers.${k}.resources`, sc?.[k]?.resources]),
    ['podSpec.systemContainers.attach.resources', sc?.attach?.resources],
  ];
  return out.filter((e): e is [string, ResourceSpec] => e[1] !== undefined);
}
