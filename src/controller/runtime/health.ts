import * as http from 'http';
import { AddressInfo } from 'net';
import { Registry } from 'prom-client';

/** /healthz (the process serves), /readyz (caches synced, or standing by as a non-leader), /metrics. */
export class HealthServer {
  private readonly servers: http.Server[] = [];

  constructor(private readonly registry: Registry, private readonly ready: () => boolean) {}

  /** Listens on another port (the Deployment exposes probes and metrics on two); 0 picks a free one. */
  async listen(port: number, host = '0.0.0.0'): Promise<number> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    return (server.address() as AddressInfo).port;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return end(res, 200, 'ok');
    if (path === '/readyz') return this.ready() ? end(res, 200, 'ok') : end(res, 503, 'not ready');
    if (path === '/metrics') {
      res.setHeader('content-type', this.registry.contentType);
      return end(res, 200, await this.registry.metrics());
    }
    end(res, 404, 'not found');
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function end(res: http.ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.end(body);
}
