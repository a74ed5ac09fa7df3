/**
 * The node's HTTP endpoint: `GET /status` (JSON view of the node and the cluster) and `GET /metrics`
 * (Prometheus text). It binds to loopback unless told otherwise, answers only GET, and never lets a
 * failing handler take the node down.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What the server serves; both are read per request. */
export interface StatusServerInit {
  host: string
  port: number
  status: () => unknown
  metrics: () => Promise<string>
  metricsContentType: string
}

/** A running status server. */
export interface StatusServer {
  readonly host: string
  readonly port: number
  close(): Promise<void>
}

export async function startStatusServer(init: StatusServerInit): Promise<StatusServer> {
  const server = createServer((req, res) => {
    handle(init, req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`internal error: ${(error as Error).message}\n`)
    })
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port, init.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  return {
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

async function handle(init: StatusServerInit, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET') {
    res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain' }).end('only GET\n')
    return
  }
  const path = (req.url ?? '/').split('?')[0]
  if (path === '/status') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(init.status(), null, 1))
  } else if (path === '/metrics') {
    const body = await init.metrics()
    res.writeHead(200, { 'content-type': init.metricsContentType }).end(body)
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /status or /metrics\n')
  }
}
