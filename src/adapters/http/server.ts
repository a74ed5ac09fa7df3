/**
 * A small JSON-over-HTTP server on node:http: routes by method and path pattern, bodies limited in
 * size, every handler error turned into a JSON error response, so a bad request never takes the node
 * down. Binds to loopback unless the caller chooses otherwise.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** Largest request body accepted. */
export const BODY_MAX_BYTES = 1024 * 1024

/** A handler's answer: JSON, or raw text with its content type. */
export type Reply = { status: number; json: unknown } | { status: number; text: string; contentType: string }

/** One route; `:name` segments of the pattern become params. */
export interface Route {
  method: 'GET' | 'POST'
  pattern: string
  /** `signal` aborts when the client goes away or the server closes, so long waits end with it. */
  handle(request: { params: Record<string, string>; query: URLSearchParams; body: unknown; signal: AbortSignal }): Promise<Reply> | Reply
}

/** A running server. */
export interface HttpServer {
  readonly host: string
  readonly port: number
  close(): Promise<void>
}

/** Thrown by handlers to answer with a status and a message. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code = 'ERR_HTTP',
  ) {
    super(message)
  }
}

export async function startHttpServer(host: string, port: number, routes: readonly Route[]): Promise<HttpServer> {
  const compiled = routes.map((r) => ({ ...r, parts: r.pattern.split('/').filter((p) => p !== '') }))
  const server = createServer((req, res) => {
    handle(compiled, req, res).catch((error: unknown) => send(res, statusOf(error), { error: errorBody(error) }))
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
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

async function handle(routes: Array<Route & { parts: string[] }>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost')
  const segments = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent)
  let methodMismatch = false
  for (const route of routes) {
    const params = match(route.parts, segments)
    if (params === undefined) continue
    if (route.method !== req.method) {
      methodMismatch = true
      continue
    }
    const body = req.method === 'POST' ? await readJson(req) : undefined
    const gone = new AbortController()
    res.once('close', () => {
      if (!res.writableFinished) gone.abort(new Error('the client went away'))
    })
    const reply = await route.handle({ params, query: url.searchParams, body, signal: gone.signal })
    if ('json' in reply) send(res, reply.status, reply.json)
    else res.writeHead(reply.status, { 'content-type': reply.contentType }).end(reply.text)
    return
  }
  if (methodMismatch) throw new HttpError(405, `${req.method} is not allowed here`)
  throw new HttpError(404, `no route for ${url.pathname}`)
}

function match(parts: string[], segments: string[]): Record<string, string> | undefined {
  if (parts.length !== segments.length) return undefined
  const params: Record<string, string> = {}
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    if (part.startsWith(':')) params[part.slice(1)] = segments[i]!
    else if (part !== segments[i]) return undefined
  }
  return params
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > BODY_MAX_BYTES) throw new HttpError(413, `request body exceeds ${BODY_MAX_BYTES} bytes`)
    chunks.push(chunk as Buffer)
  }
  if (size === 0) return undefined
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'))
  } catch (error) {
    throw new HttpError(400, `request body is not JSON: ${(error as Error).message}`)
  }
}

function send(res: ServerResponse, status: number, json: unknown): void {
  if (res.headersSent) {
    res.end()
    return
  }
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
}

function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status
  const name = (error as { name?: unknown }).name
  if (name === 'InvalidJobError' || name === 'UnknownJobTypeError' || name === 'InvalidArgumentError') return 400
  if (name === 'PayloadTooLargeError') return 413
  if (name === 'ClusterSaturatedError' || name === 'NoLeaderError' || name === 'JobLogUnavailableError') return 503
  return 500
}

function errorBody(error: unknown): { name: string; code: string; message: string } {
  const e = error instanceof Error ? error : new Error(String(error))
  const code = (e as { code?: unknown }).code
  return { name: e.name, code: typeof code === 'string' ? code : 'ERR_INTERNAL', message: e.message }
}
