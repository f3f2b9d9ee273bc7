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

/** What an Agent, AgentTemplate or CronTask needs from a KubeOpenCodeConfig at synth. */
export interface IClusterConfig extends IConstruct {
  /** spec.proxy: the proxy of constructs without their own. @default - no proxy */
  readonly clusterProxy?: Proxy;
  /** spec.clusterDomain: the DNS domain of server URLs. @default cluster.local */
  readonly clusterDomain?: string;
  /** spec.systemImage.image: the image of CronTask jobs. @default - the pinned controller image */
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

/** True when mark*() branded `c` (a symbol property: a construct from another copy of the package still counts). */
function isMarked(c: IConstruct, brand: symbol): boolean {
  return (c as IConstruct & { readonly [brand: symbol]: unknown })[brand] === true;
}

interface AppIndex {
  templates: Map<string, IAgentTemplate[]>;
  /** KubeOpenCodeConfigs by the scope they were created in (normally their chart). */
  configs: Map<IConstruct, IClusterConfig[]>;
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
    idx = { templates: new Map(), configs: new Map() };
    for (const c of root.node.findAll()) {
      if (isMarked(c, TEMPLATE)) {
        const t = c as IAgentTemplate;
        const list = idx.templates.get(t.name) ?? [];
        list.push(t);
        idx.templates.set(t.name, list);
      } else if (isMarked(c, CLUSTER_CONFIG) && c.node.scope) {
        const list = idx.configs.get(c.node.scope) ?? [];
        list.push(c as IClusterConfig);
        idx.configs.set(c.node.scope, list);
      }
    }
    indexes.set(root, idx);
  }
  return idx;
}

/** The AgentTemplate named `name` in the same namespace, anywhere in the app. */
export function findTemplate(scope: IConstruct, name: string, namespace: string | undefined): IAgentTemplate | undefined {
  return indexOf(scope).templates.get(name)?.find((t) => t.namespace === namespace);
}

export function templateNames(scope: IConstruct): string[] {
  return [...indexOf(scope).templates.keys()].sort();
}

export function isClusterConfig(c: IConstruct): c is IClusterConfig {
  return isMarked(c, CLUSTER_CONFIG);
}

/**
 * The KubeOpenCodeConfig that applies to `scope` at synth: `explicit` when given, else the nearest one up the construct
 * tree (created in the construct's own scope, its chart, or a scope above). A config in another chart never applies,
 * so two charts of one app (prod, staging) each get their own. Two configs in one scope are a synth error (see
 * KubeOpenCodeConfig); here the first one wins so that error is the one the user sees.
 */
export function clusterConfigFor(scope: IConstruct, explicit?: IClusterConfig): IClusterConfig | undefined {
  if (explicit) return explicit;
  const configs = indexOf(scope).configs;
  for (let s: IConstruct | undefined = scope.node.scope; s; s = s.node.scope) {
    const here = configs.get(s);
    if (here?.length) return here[0];
  }
  return undefined;
}
