/**
 * Plays the Agents' OpenCode servers for the controller (its session check when a Task's pod ends): every Task has a
 * session titled as the controller expects, with one finished assistant turn and no error. Answers at once, so the
 * benchmark measures the controller, not a model.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface OpencodeStub {
  readonly url: string;
  readonly requests: Record<string, number>;
  close(): Promise<void>;
}

export async function startOpencodeStub(): Promise<OpencodeStub> {
  const requests: Record<string, number> = {};
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    const send = (body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const route = `${req.method} ${url.pathname.replace(/^\/session\/[^/]+/, '/session/:id')}`;
    requests[route] = (requests[route] ?? 0) + 1;
    if (req.method === 'GET' && url.pathname === '/session') {
      const title = url.searchParams.get('search') ?? '';
      return send(title ? [{ id: `ses_${Buffer.from(title).toString('base64url').slice(-24)}`, title }] : []);
    }
    if (req.method === 'GET' && /^\/session\/[^/]+\/message$/.test(url.pathname)) {
      const t = Date.now();
      return send([
        { info: { role: 'user', time: { created: t - 60_000 } } },
        { info: { role: 'assistant', finish: 'stop', time: { created: t - 59_000, completed: t - 1000 }, tokens: { input: 1200, output: 300, reasoning: 0, cache: { read: 0, write: 0 } } } },
      ]);
    }
    if (req.method === 'POST' && /^\/session\/[^/]+\/abort$/.test(url.pathname)) return send(true);
    res.writeHead(404).end();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
