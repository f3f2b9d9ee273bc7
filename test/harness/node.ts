/**
 * Playing the parts of a cluster that sit behind the API server's connect subresources, which the test API server
 * resolves the way kube-apiserver does (scripts/apiserver/testapiserver/subresources.go):
 *  - services/proxy: the endpoints controller → registerEndpoints() writes the Endpoints of a Service, pointing at a
 *    server on this machine;
 *  - pods/log: the scheduler and the kubelet → startKubelet() registers a Node whose kubelet (HTTPS on loopback)
 *    serves /containerLogs, and bindPod() puts a pod on it (spec.nodeName).
 */
import * as fs from 'fs';
import * as https from 'https';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { createPki } from '../fixtures/pki';
import { Obj, kubeRequest, uniqueName } from './apiserver';

/** The Endpoints of Service `service` (same name), one address on 127.0.0.1, for each of its ports by name. */
export async function registerEndpoints(ns: string, service: string, port: number, ip = '127.0.0.1'): Promise<Obj> {
  const svc = await kubeRequest('GET', `/api/v1/namespaces/${ns}/services/${service}`);
  const ports = (svc.spec.ports as Obj[]).map((p) => ({ name: p.name, port, protocol: p.protocol ?? 'TCP' }));
  return kubeRequest('PATCH', `/api/v1/namespaces/${ns}/endpoints/${service}`, {
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: 'endpoint-controller', force: true },
    body: { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: service, namespace: ns }, subsets: [{ addresses: [{ ip }], ports }] },
  });
}

/** Log lines per `ns/pod/container`; a follow request stays open until end() is called for it. */
export class Kubelet {
  public readonly requests: Array<{ path: string; query: Record<string, string> }> = [];
  private readonly logs = new Map<string, string[]>();
  private readonly followers = new Map<string, Set<import('http').ServerResponse>>();
  private readonly ended = new Set<string>();

  constructor(public readonly nodeName: string, private readonly server: https.Server, private readonly dir: string) {}

  /** Appends a line to a container's log (and sends it to followers). */
  public write(ns: string, pod: string, container: string, line: string): void {
    const key = `${ns}/${pod}/${container}`;
    this.logs.set(key, [...(this.logs.get(key) ?? []), line]);
    for (const res of this.followers.get(key) ?? []) res.write(line + '\n');
  }

  /** The container ended: followers' streams close. */
  public end(ns: string, pod: string, container: string): void {
    const key = `${ns}/${pod}/${container}`;
    this.ended.add(key);
    for (const res of this.followers.get(key) ?? []) res.end();
    this.followers.delete(key);
  }

  public handle(req: import('http').IncomingMessage, res: import('http').ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    this.requests.push({ path: url.pathname, query: Object.fromEntries(url.searchParams) });
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const key = `${m[1]}/${m[2]}/${m[3]}`;
    res.writeHead(200, { 'content-type': 'text/plain' });
    for (const line of this.logs.get(key) ?? []) res.write(line + '\n');
    if (url.searchParams.get('follow') !== 'true' || this.ended.has(key)) {
      res.end();
      return;
    }
    const set = this.followers.get(key) ?? new Set();
    set.add(res);
    this.followers.set(key, set);
    res.on('close', () => set.delete(res));
  }

  public async stop(): Promise<void> {
    for (const set of this.followers.values()) for (const r of set) r.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    await kubeRequest('DELETE', `/api/v1/nodes/${this.nodeName}`).catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A kubelet on 127.0.0.1 (HTTPS, its own CA, as kubelets have), registered as a Node. */
export async function startKubelet(): Promise<Kubelet> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'koc-kubelet-'));
  const pki = createPki(dir);
  let kubelet: Kubelet | undefined;
  const server = https.createServer({ cert: fs.readFileSync(pki.serverCert), key: fs.readFileSync(pki.serverKey) }, (req, res) => kubelet!.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const nodeName = uniqueName('node');
  kubelet = new Kubelet(nodeName, server, dir);
  await kubeRequest('POST', '/api/v1/nodes', { body: { apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName } } });
  await kubeRequest('PATCH', `/api/v1/nodes/${nodeName}/status`, {
    contentType: 'application/merge-patch+json',
    body: { status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } },
  });
  return kubelet;
}

/** Plays the scheduler: binds the pod to the node (spec.nodeName is settable once, as through pods/binding). */
export async function bindPod(ns: string, pod: string, nodeName: string): Promise<Obj> {
  return kubeRequest('PATCH', `/api/v1/namespaces/${ns}/pods/${pod}`, { contentType: 'application/merge-patch+json', body: { spec: { nodeName } } });
}
