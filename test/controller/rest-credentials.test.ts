/**
 * The REST client does not keep the first token it read: a ServiceAccount token file rotates (the kubelet replaces it
 * before expiry) and a controller that ran for days with the first one would end in 401s. A server on loopback accepts
 * only the current token and records what it received.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';
import { CREDENTIALS_TTL_MS, Rest } from '../../src/controller/kube/rest';
import type { ClusterAccess } from '../../src/controller/kube/kubeconfig';

let current = 'token-a';
const received: string[] = [];
let server: http.Server;
let url: string;
let reads = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    received.push(String(req.headers.authorization));
    const ok = req.headers.authorization === `Bearer ${current}`;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(ok ? { kind: 'Status', status: 'Success' } : { kind: 'Status', code: 401, message: 'Unauthorized' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A kubeconfig whose token is what the (rotating) file holds now. */
function access(file: () => string): ClusterAccess {
  return {
    getCurrentCluster: () => ({ name: 'c', server: url, skipTLSVerify: false }),
    async applyToHTTPSOptions(opts) {
      reads++;
      opts.headers = { ...(opts.headers ?? {}), Authorization: `Bearer ${file()}` };
    },
    async applyToFetchOptions(opts) {
      await this.applyToHTTPSOptions(opts);
      return opts;
    },
  } as ClusterAccess;
}

beforeEach(() => {
  received.length = 0;
  reads = 0;
  current = 'token-a';
});

test('a 401 after the token rotated: the token is read again and the request retried once', async () => {
  let onDisk = 'token-a';
  const rest = new Rest(access(() => onDisk), { retries: 0 });
  await rest.get('/api/v1/namespaces');
  onDisk = current = 'token-b'; // the kubelet rotated the file; the server no longer takes the old one
  await expect(rest.get('/api/v1/namespaces')).resolves.toMatchObject({ status: 'Success' });
  expect(received).toEqual(['Bearer token-a', 'Bearer token-a', 'Bearer token-b']);
  rest.close();
});

test('a token the server refuses after a fresh read is an error, not a loop', async () => {
  const rest = new Rest(access(() => 'token-wrong'), { retries: 3 });
  await expect(rest.get('/api/v1/namespaces')).rejects.toMatchObject({ code: 401 });
  expect(received).toEqual(['Bearer token-wrong', 'Bearer token-wrong']);
  rest.close();
});

test('the credentials are read again once they are older than the TTL, before any 401', async () => {
  let onDisk = 'token-a';
  let now = 1_000_000;
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => now);
  try {
    const rest = new Rest(access(() => onDisk), { retries: 0 });
    await rest.get('/x');
    await rest.get('/x');
    expect(reads).toBe(1);
    onDisk = 'token-b'; // both still valid: the server takes either
    now += CREDENTIALS_TTL_MS;
    current = 'token-b';
    await rest.get('/x');
    expect(reads).toBe(2);
    expect(received).toEqual(['Bearer token-a', 'Bearer token-a', 'Bearer token-b']);
    rest.close();
  } finally {
    spy.mockRestore();
  }
});
