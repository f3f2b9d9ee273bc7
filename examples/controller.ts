import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { KubeOpenCodeController } from '../src';

/** Installs the runtime controller (namespace, CRDs, RBAC, Deployment, metrics Service): apply this first. */
export class ControllerInstall extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new KubeOpenCodeController(this, 'controller', { namespace: 'kubeopencode-system', replicas: 2 });
  }
}
