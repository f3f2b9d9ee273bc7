import { Testing } from 'cdk8s';
import { Agent, CaBundle, Context, Credential } from '../../src';
import { chart, synth } from '../util/synth';

describe('typed conveniences produce the same objects as the YAML spelling', () => {
  const yamlStyle = {
    workspaceDir: '/workspace',
    serviceAccountName: 'kubeopencode-agent',
    caBundle: { configMapRef: { name: 'custom-ca-bundle' } },
    contexts: [
      { name: 'rules', type: 'Text' as const, text: 'sign commits' },
      { name: 'code', type: 'Git' as const, git: { repository: 'https://e.com/r.git', ref: 'main' }, mountPath: 'code' },
      { name: 'scripts', type: 'ConfigMap' as const, configMap: { name: 'my-scripts' }, mountPath: '.scripts', fileMode: 493 },
      { name: 'spec', type: 'URL' as const, url: { source: 'https://e.com/openapi.yaml' }, mountPath: 'specs/openapi.yaml' },
      { name: 'platform', type: 'Runtime' as const },
    ],
    credentials: [
      { name: 'token', secretRef: { name: 'github-creds', key: 'token' }, env: 'GITHUB_TOKEN' },
      { name: 'ssh', secretRef: { name: 'ssh-keys', key: 'id_rsa' }, mountPath: '/home/agent/.ssh/id_rsa', fileMode: 0o400 },
    ],
  };
  const factoryStyle = {
    workspaceDir: '/workspace',
    serviceAccountName: 'kubeopencode-agent',
    caBundle: CaBundle.fromConfigMap('custom-ca-bundle'),
    contexts: [
      Context.text('sign commits', { name: 'rules' }),
      Context.git({ repository: 'https://e.com/r.git', ref: 'main' }, { name: 'code', mountPath: 'code' }),
      Context.configMap('my-scripts', { name: 'scripts', mountPath: '.scripts', fileMode: 493 }),
      Context.url('https://e.com/openapi.yaml', { name: 'spec', mountPath: 'specs/openapi.yaml' }),
      Context.runtime('platform'),
    ],
    credentials: [
      Credential.env('token', 'github-creds', 'token', 'GITHUB_TOKEN'),
      Credential.file('ssh', 'ssh-keys', '/home/agent/.ssh/id_rsa', { key: 'id_rsa', fileMode: 0o400 }),
    ],
  };

  test('byte for byte', () => {
    const render = (props: any) => {
      const c = chart('ns');
      new Agent(c, 'a', props);
      synth(c); // strict validation
      return JSON.stringify(Testing.synth(c));
    };
    expect(render(factoryStyle)).toBe(render(yamlStyle));
  });

  test('CaBundle.fromSecret', () => {
    expect(CaBundle.fromSecret('custom-ca-secret', 'ca.crt')).toEqual({ secretRef: { name: 'custom-ca-secret', key: 'ca.crt' } });
  });
});
