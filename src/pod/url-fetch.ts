import { k8s } from 'cdk8s-plus-28';
import { urlFetchEnv } from './scripts';
import { SystemBase, containerName, scriptContainer } from './system';

/** url-fetch: downloads a URL context (trusting the CA bundle on top of the system pool) before opencode starts. */
export function urlFetchContainer(
  base: SystemBase,
  o: { index: number; name: string; source: string; dest: string; timeoutSeconds: number; mounts: k8s.VolumeMount[] },
): k8s.Container {
  return scriptContainer(
    base,
    containerName('url-fetch', o.name, o.index),
    base.images.curl,
    { file: 'url-fetch.sh' },
    urlFetchEnv({ contextName: o.name, source: o.source, dest: o.dest, timeoutSeconds: o.timeoutSeconds }),
    o.mounts,
  );
}
