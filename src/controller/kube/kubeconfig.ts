/**
 * The controller's connection settings, read with @kubernetes/client-node's own kubeconfig parsers and authenticators,
 * imported module by module. Why not its KubeConfig class: that module imports the whole generated API (every model
 * and API class, for makeApiClient, which the controller never calls), and so does the package's index; measured with
 * `require` on Node 20, the index costs about 62 MB of RSS and 26 MB of heap, the pieces below about 1 MB of heap.
 *
 * Covers what a controller meets: one kubeconfig file (clusters, users, contexts; CA, client certificate and key as
 * files or data, insecure-skip-tls-verify, tls-server-name, token, basic auth, impersonation, exec and auth-provider
 * plugins through client-node's authenticators) and the in-cluster ServiceAccount (token file re-read as it rotates).
 * A KUBECONFIG listing several files to merge goes to client-node's KubeConfig (settings.ts), at its full cost.
 * A client-node KubeConfig fits everywhere this does (tests pass one).
 */
import * as fs from 'fs';
import * as https from 'https';
import * as net from 'net';
import * as path from 'path';
import type { Cluster, Context, User } from '@kubernetes/client-node';
import { newClusters, newContexts, newUsers } from '@kubernetes/client-node/dist/config_types.js';
import { parse } from 'yaml';

/** What the controller asks of a kubeconfig: the part of client-node's KubeConfig it uses. */
export interface ClusterAccess {
  getCurrentCluster(): Cluster | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
  /** For client-node's informer (its Watch): agent and headers, as node-fetch takes them. */
  applyToFetchOptions(opts: https.RequestOptions): Promise<any>;
}

/** client-node's authenticator interface (dist/types.d.ts), structurally. */
interface Authenticator {
  isAuthProvider(user: User): boolean;
  applyAuthentication(user: User, opts: https.RequestOptions): Promise<void>;
}

export class LeanKubeConfig implements ClusterAccess {
  /** One kubeconfig file; relative certificate paths resolve against its directory, as kubectl does. */
  static fromFile(file: string): LeanKubeConfig {
    const doc = parse(fs.readFileSync(file, 'utf8')) ?? {};
    const dir = path.dirname(file);
    const abs = (f: string | undefined) => (f && !path.isAbsolute(f) ? path.join(dir, f) : f);
    const clusters = newClusters(doc.clusters).map((c) => ({ ...c, caFile: abs(c.caFile) }));
    const users = newUsers(doc.users).map((u) => ({ ...u, certFile: abs(u.certFile), keyFile: abs(u.keyFile) }));
    return new LeanKubeConfig(clusters, users, newContexts(doc.contexts), doc['current-context']);
  }

  /** The pod's ServiceAccount: KUBERNETES_SERVICE_HOST/PORT, its CA and its token file (re-read as it rotates). */
  static fromServiceAccount(dir: string, env: NodeJS.ProcessEnv = process.env): LeanKubeConfig {
    const host = env.KUBERNETES_SERVICE_HOST ?? '';
    const port = env.KUBERNETES_SERVICE_PORT ?? '443';
    const scheme = ['80', '8080', '8001'].includes(port) ? 'http' : 'https';
    const server = `${scheme}://${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
    const cluster: Cluster = { name: 'inCluster', server, caFile: path.join(dir, 'ca.crt'), skipTLSVerify: false };
    const user: User = { name: 'inClusterUser', authProvider: { name: 'tokenFile', config: { tokenFile: path.join(dir, 'token') } } };
    return new LeanKubeConfig([cluster], [user], [{ name: 'inClusterContext', cluster: cluster.name, user: user.name }], 'inClusterContext');
  }

  private authenticators?: Authenticator[];

  private constructor(
    private readonly clusters: Cluster[],
    private readonly users: User[],
    private readonly contexts: Context[],
    private readonly currentContext: string | undefined,
  ) {}

  getCurrentContext(): string | undefined {
    return this.currentContext;
  }

  private context(): Context | undefined {
    return this.contexts.find((c) => c.name === this.currentContext);
  }

  getCurrentCluster(): Cluster | null {
    const name = this.context()?.cluster;
    return this.clusters.find((c) => c.name === name) ?? null;
  }

  getCurrentUser(): User | null {
    const name = this.context()?.user;
    return this.users.find((u) => u.name === name) ?? null;
  }

  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    if (!user) return;
    if (cluster?.skipTLSVerify) opts.rejectUnauthorized = false;
    if (cluster?.tlsServerName) opts.servername = cluster.tlsServerName;
    const bytes = (file?: string, data?: string) => (file ? fs.readFileSync(file) : data ? Buffer.from(data, 'base64') : undefined);
    const ca = bytes(cluster?.caFile, cluster?.caData);
    const cert = bytes(user.certFile, user.certData);
    const key = bytes(user.keyFile, user.keyData);
    if (ca) opts.ca = ca;
    if (cert) opts.cert = cert;
    if (key) opts.key = key;
    const headers = (opts.headers ??= {}) as Record<string, string>;
    if (user.impersonateUser) headers['Impersonate-User'] = user.impersonateUser;
    if (user.username) opts.auth = `${user.username}:${user.password}`;
    const auth = (await this.loadAuthenticators(user)).find((a) => a.isAuthProvider(user));
    if (auth) await auth.applyAuthentication(user, opts);
    if (user.token) headers.Authorization = `Bearer ${user.token}`;
  }

  async applyToFetchOptions(opts: https.RequestOptions): Promise<any> {
    await this.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    const { ca, cert, key, rejectUnauthorized, servername } = opts;
    return { agent: new https.Agent({ ca, cert, key, servername, ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }) }), headers };
  }

  /**
   * client-node's authenticators, loaded on first use and only those the user needs: a token or certificate needs
   * none, the ServiceAccount's token file needs FileAuth; OIDC alone would add openid-client (about 9 MB of RSS).
   */
  private async loadAuthenticators(user: User): Promise<Authenticator[]> {
    if (this.authenticators) return this.authenticators;
    const list: Authenticator[] = [];
    const provider = user.authProvider?.name;
    if (user.authProvider?.config?.tokenFile) list.push(new (require('@kubernetes/client-node/dist/file_auth.js').FileAuth)());
    if (user.exec) list.push(new (require('@kubernetes/client-node/dist/exec_auth.js').ExecAuth)());
    if (provider === 'oidc') list.push(new (require('@kubernetes/client-node/dist/oidc_auth.js').OpenIDConnectAuth)());
    if (provider === 'azure') list.push(new (require('@kubernetes/client-node/dist/azure_auth.js').AzureAuth)());
    if (provider === 'gcp') list.push(new (require('@kubernetes/client-node/dist/gcp_auth.js').GoogleCloudPlatformAuth)());
    this.authenticators = list;
    return list;
  }
}
