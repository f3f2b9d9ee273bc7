import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import * as gen from '../../imports/kubeopencode.io';
import { KubeOpenCodeConfigSpec, Proxy } from '../api';
import { Problems, warnProxyPasswords } from '../validation';
import { clusterScoped } from './cluster-scoped';
import { IClusterConfig, markClusterConfig } from './lookup';

/** Props of the cluster-wide KubeOpenCodeConfig: the guide's `spec`. Its name is always `cluster`. */
export interface KubeOpenCodeConfigProps extends KubeOpenCodeConfigSpec {}

/**
 * The cluster-scoped singleton KubeOpenCodeConfig `cluster`. Its proxy is applied at synth to every Agent and
 * AgentTemplate in the same app that has no proxy of its own (an Agent's own proxy wins); its cleanup policy is applied
 * by the controller.
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
    this.resource = clusterScoped(new gen.KubeOpenCodeConfig(this, 'Resource', {
      metadata: { name: 'cluster' },
      spec: props as unknown as gen.KubeOpenCodeConfigSpec,
    }));
  }
}
