import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as gen from '../../imports/kubeopencode.io';
import { KubeOpenCodeConfigSpec, Proxy } from '../api';
import { Problems, warnProxyPasswords } from '../validation';
import { clusterScoped } from './cluster-scoped';
import { IClusterConfig, isClusterConfig, markClusterConfig } from './lookup';

/** Props of the cluster-wide KubeOpenCodeConfig: the guide's `spec`. Its name is always `cluster`. */
export interface KubeOpenCodeConfigProps extends KubeOpenCodeConfigSpec {}

/**
 * The cluster-scoped singleton KubeOpenCodeConfig `cluster`. At synth it applies to the Agents, AgentTemplates and
 * CronTasks below its scope (normally its chart; an Agent in another chart never sees it): its proxy to those without
 * a proxy of their own, its clusterDomain to server URLs, its systemImage to CronTask jobs. A construct can also name
 * one with its `clusterConfig` prop. Two configs in one scope fail the synth. In the cluster there is only one object
 * named `cluster`: its cleanup policy (and its proxy, for the controller's Git checks) are the controller's.
 */
export class KubeOpenCodeConfig extends Construct implements IClusterConfig {
  public readonly resource: ApiObject;
  public readonly clusterProxy?: Proxy;
  public readonly clusterDomain?: string;
  public readonly systemImage?: string;

  constructor(scope: Construct, id: string, props: KubeOpenCodeConfigProps = {}) {
    super(scope, id);
    const problems = new Problems('KubeOpenCodeConfig', this);
    const c = props.cleanup;
    if (c?.ttlSecondsAfterFinished !== undefined) {
      problems.check(Number.isInteger(c.ttlSecondsAfterFinished) && c.ttlSecondsAfterFinished >= 0, 'cleanup.ttlSecondsAfterFinished', `${c.ttlSecondsAfterFinished} must be a non-negative integer`);
    }
    if (c?.maxRetainedTasks !== undefined) {
      problems.check(Number.isInteger(c.maxRetainedTasks) && c.maxRetainedTasks >= 0, 'cleanup.maxRetainedTasks', `${c.maxRetainedTasks} must be a non-negative integer`);
    }
    if (props.clusterDomain !== undefined) {
      problems.check(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(props.clusterDomain), 'clusterDomain', `'${props.clusterDomain}' is not a DNS domain`);
    }
    warnProxyPasswords(props.proxy, problems);
    problems.throwIfAny();
    this.clusterProxy = props.proxy;
    this.clusterDomain = props.clusterDomain;
    this.systemImage = props.systemImage?.image;
    markClusterConfig(this);
    this.node.addValidation({ validate: () => this.validateOnePerScope() });
    this.resource = clusterScoped(new gen.KubeOpenCodeConfig(this, 'Resource', {
      metadata: { name: 'cluster' },
      spec: props as unknown as gen.KubeOpenCodeConfigSpec,
    }));
  }

  /** Which config applies is decided by scope, so a scope may hold only one. */
  private validateOnePerScope(): string[] {
    const scope = this.node.scope;
    if (!scope) return [];
    const others = scope.node.children.filter((c) => c !== this && isClusterConfig(c));
    if (others.length === 0) return [];
    const problems = new Problems('KubeOpenCodeConfig', this);
    problems.add('scope', `'${others.map((o) => o.node.path).join("', '")}' is another KubeOpenCodeConfig in the same scope ` +
      `'${scope.node.path}'; a scope holds at most one (put each in its own chart, or pass one with clusterConfig)`);
    return problems.messages();
  }
}
