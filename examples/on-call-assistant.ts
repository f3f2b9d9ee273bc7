import { Chart } from 'cdk8s';
import { Construct } from 'constructs';
import { Agent } from '../src';

/**
 * Live Agents, "On-call assistant": production runbooks (a private Git repo behind a corporate proxy and a private CA)
 * and a dashboard spec fetched over HTTPS, pre-loaded and ready when an incident starts.
 */
export class OnCallAssistant extends Chart {
  constructor(scope: Construct, id: string) {
    super(scope, id, { namespace: 'oncall' });
    new Agent(this, 'oncall-assistant', {
      profile: 'On-call assistant with runbooks and dashboards',
      workspaceDir: '/workspace',
      serviceAccountName: 'kubeopencode-agent',
      caBundle: { configMapRef: { name: 'custom-ca-bundle', key: 'ca-bundle.crt' } },
      proxy: {
        httpProxy: 'http://proxy.corp.example.com:8080',
        httpsProxy: 'http://proxy.corp.example.com:8080',
        noProxy: 'localhost,127.0.0.1,10.0.0.0/8,.corp.example.com',
      },
      imagePullSecrets: [{ name: 'harbor-registry-secret' }],
      contexts: [
        {
          name: 'runbooks',
          type: 'Git',
          git: { repository: 'https://git.corp.example.com/sre/runbooks.git', ref: 'main', secretRef: { name: 'github-git-credentials' } },
          mountPath: 'runbooks',
        },
        { name: 'dashboards', type: 'URL', url: { source: 'https://grafana.corp.example.com/api/dashboards/openapi.yaml' }, mountPath: 'specs/dashboards.yaml' },
        { name: 'escalation', type: 'ConfigMap', configMap: { name: 'escalation-policy' } },
        { name: 'scripts', type: 'ConfigMap', configMap: { name: 'my-scripts' }, mountPath: '.scripts', fileMode: 493 },
      ],
      podSpec: {
        labels: { 'network-policy': 'agent-restricted' },
        podSecurityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
      },
    });
  }
}
