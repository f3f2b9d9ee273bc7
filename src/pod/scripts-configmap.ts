import { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import { LABELS, MANAGED_BY, PATHS } from '../api';
import { hashOf } from '../hash';
import { PACKAGE_VERSION } from '../version';
import { contextInitScript } from './context-init';
import { gitInitScript, gitSyncScript, urlFetchScript } from './scripts';

/** Every script an init container or sidecar runs, by its file name under /kubeopencode/scripts. */
export function scriptFiles(): Record<string, string> {
  return {
    'context-init.sh': contextInitScript(),
    'git-init.sh': gitInitScript(),
    'git-sync.sh': gitSyncScript(),
    'url-fetch.sh': urlFetchScript(),
  };
}

/**
 * The ConfigMap `kubeopencode-scripts-{hash}` that holds the scripts, once per chart and namespace however many
 * Agents, AgentTemplates and containers run them; returns its name. The name carries a hash of the content, so a new
 * library version is a new ConfigMap (the pods that mount it roll) and the object can be immutable; two charts in one
 * namespace emit the very same object, so applying both is harmless.
 */
export function scriptsConfigMap(scope: IConstruct, namespace: string | undefined): k8s.KubeConfigMap {
  const data = scriptFiles();
  const name = `kubeopencode-scripts-${hashOf(data).slice(0, 10)}`;
  const chart = Chart.of(scope);
  const id = `KubeOpenCodeScripts-${namespace ?? 'default'}`;
  const existing = chart.node.tryFindChild(id) as k8s.KubeConfigMap | undefined;
  if (existing) return existing;
  return new k8s.KubeConfigMap(chart, id, {
      metadata: {
        name,
        namespace,
        labels: { [LABELS.name]: 'kubeopencode', [LABELS.component]: 'scripts', [LABELS.managedBy]: MANAGED_BY },
        annotations: {
          'kubeopencode.io/description':
            `POSIX sh scripts of cdk8s-kubeopencode ${PACKAGE_VERSION} (assets/scripts, comments stripped); ` +
            `init containers and sidecars run them as: sh ${PATHS.scriptsDir}/<file>`,
        },
      },
      immutable: true,
      data,
    });
}
