import { k8s } from 'cdk8s-plus-28';
import { Proxy } from '../api';
import { mergeNoProxy } from '../common/no-proxy';

/**
 * HTTP_PROXY / HTTPS_PROXY / NO_PROXY in upper and lower case, for every container. `.svc` and `.cluster.local` are
 * always added to NO_PROXY so in-cluster traffic (Tasks reaching their Agent) never leaves through the proxy.
 */
export function proxyEnv(proxy: Proxy | undefined): k8s.EnvVar[] {
  if (!proxy || (!proxy.httpProxy && !proxy.httpsProxy && !proxy.noProxy)) return [];
  const noProxy = mergeNoProxy(proxy.noProxy);
  const pairs: Array<[string, string | undefined]> = [
    ['HTTP_PROXY', proxy.httpProxy],
    ['HTTPS_PROXY', proxy.httpsProxy],
    ['NO_PROXY', noProxy],
  ];
  return pairs.flatMap(([name, value]) =>
    value === undefined ? [] : [{ name, value }, { name: name.toLowerCase(), value }],
  );
}
