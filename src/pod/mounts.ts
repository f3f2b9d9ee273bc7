import { k8s } from 'cdk8s-plus-28';

/**
 * Mount points a container runtime cannot create. containerd sorts a container's mounts by destination (parent
 * before child) and runc applies them in that order, remounting a read-only bind read-only at once; a mount point
 * below it must then be created on a read-only file system and the container never starts ("error mounting … to rootfs
 * at …: read-only file system", kubernetes/kubernetes#121294). Returns one message per offending pair.
 */
export function mountsBelowReadOnlyMounts(container: Pick<k8s.Container, 'name' | 'volumeMounts'>): string[] {
  const mounts = (container.volumeMounts ?? []).map((m) => ({ ...m, path: normalize(m.mountPath) }));
  const problems: string[] = [];
  for (const parent of mounts) {
    if (!parent.readOnly) continue;
    for (const child of mounts) {
      if (child === parent || !child.path.startsWith(parent.path === '/' ? '/' : `${parent.path}/`)) continue;
      problems.push(`container '${container.name}': ${child.path} (volume ${child.name}) is mounted below the read-only mount ` +
        `${parent.path} (volume ${parent.name}); a container runtime cannot create that mount point`);
    }
  }
  return problems;
}

/** Every such problem in a pod spec, init containers included. */
export function podMountProblems(spec: Pick<k8s.PodSpec, 'containers' | 'initContainers'>): string[] {
  return [...(spec.initContainers ?? []), ...spec.containers].flatMap(mountsBelowReadOnlyMounts);
}

function normalize(p: string): string {
  return p.replace(/\/+$/, '') || '/';
}
