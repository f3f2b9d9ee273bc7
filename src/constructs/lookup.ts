import { IConstruct } from 'constructs';
import { Environment, Proxy } from '../api';

/** What an Agent needs from an AgentTemplate at synth: its name, namespace and (template-side) environment. */
export interface IAgentTemplate extends IConstruct {
  /** The Kubernetes name of the AgentTemplate. */
  readonly name: string;
  /** Its namespace (the chart's), if any. */
  readonly namespace?: string;
  /** The template's spec, including contexts/credentials/skills added with mutators. */
  environment(): Environment;
}

/** What an Agent needs from a KubeOpenCodeConfig at synth: the cluster-wide proxy. */
export interface IClusterConfig extends IConstruct {
  readonly clusterProxy?: Proxy;
  readonly clusterDomain?: string;
  readonly systemImage?: string;
}

const TEMPLATE = Symbol.for('cdk8s-kubeopencode.AgentTemplate');
const CLUSTER_CONFIG = Symbol.for('cdk8s-kubeopencode.KubeOpenCodeConfig');

// A new template or config invalidates the app's index, so a lookup made before it was added stays correct.
export function markTemplate(c: IAgentTemplate): void {
  Object.defineProperty(c, TEMPLATE, { value: true });
  indexes.delete(c.node.root);
}
export function markClusterConfig(c: IClusterConfig): void {
  Object.defineProperty(c, CLUSTER_CONFIG, { value: true });
  indexes.delete(c.node.root);
}

interface AppIndex {
  templates: Map<string, IAgentTemplate[]>;
  configs: IClusterConfig[];
}

/**
 * One walk of the construct tree per app, at synth (when every construct exists), so that resolving templateRef for
 * 10,000 Agents costs one traversal, not 10,000.
 */
const indexes = new WeakMap<IConstruct, AppIndex>();

function indexOf(scope: IConstruct): AppIndex {
  const root = scope.node.root;
  let idx = indexes.get(root);
  if (!idx) {
    idx = { templates: new Map(), configs: [] };
    for (const c of root.node.findAll()) {
      if ((c as any)[TEMPLATE]) {
        const t = c as IAgentTemplate;
        const list = idx.templates.get(t.name) ?? [];
        list.push(t);
        idx.templates.set(t.name, list);
      } else if ((c as any)[CLUSTER_CONFIG]) {
        idx.configs.push(c as IClusterConfig);
      }
    }
    indexes.set(root, idx);
  }
  return idx;
}

/** Forget the index (a test that adds constructs after a synth). */
export function resetLookup(scope: IConstruct): void {
  indexes.delete(scope.node.root);
}

/** The AgentTemplate named `name` in the same namespace, anywhere in the app. */
export function findTemplate(scope: IConstruct, name: string, namespace: string | undefined): IAgentTemplate | undefined {
  return indexOf(scope).templates.get(name)?.find((t) => t.namespace === namespace);
}

export function templateNames(scope: IConstruct): string[] {
  return [...indexOf(scope).templates.keys()].sort();
}

/** The cluster DNS domain from the app's KubeOpenCodeConfig (server URLs), if it sets one. */
export function clusterDomain(scope: IConstruct): string | undefined {
  return indexOf(scope).configs.find((c) => c.clusterDomain)?.clusterDomain;
}

/** The controller image from the app's KubeOpenCodeConfig (CronTask jobs), if it sets one. */
export function clusterSystemImage(scope: IConstruct): string | undefined {
  return indexOf(scope).configs.find((c) => c.systemImage)?.systemImage;
}

/** The cluster proxy of the app's KubeOpenCodeConfig, if it has one. */
export function clusterProxy(scope: IConstruct): Proxy | undefined {
  return indexOf(scope).configs.find((c) => c.clusterProxy)?.clusterProxy;
}
