/**
 * A small JSON-over-HTTP server on node:http: routes by method and path pattern, bodies limited in
 * size, every handler error turned into a JSON error response, so a bad request never takes the node
 * down. Binds to loopback unless the caller chooses otherwise.
 *
 * Access, checked before any route runs, in this order:
 * - Host: the header must name the bound address, an IP literal when bound to every interface,
 *   `localhost` when bound to loopback or every interface, or a configured name (421 otherwise).
 *   A DNS-rebinding page reaches us under its own name, so it is refused here.
 * - Token: with a token configured, every route not marked public needs `Authorization: Bearer
 *   <token>` (401 otherwise), compared in constant time.
 * - Content type: every POST must say `application/json` (415 otherwise). A cross-site page can
 *   send `text/plain` and form bodies without asking, never JSON, and no CORS header is ever sent,
 *   so a page in the operator's browser cannot submit or cancel jobs.
 * - Limits: concurrent connections, time to receive the headers and the whole request (slowloris),
 *   and the body size.
 */
import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { isIP, type AddressInfo, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { toWireError, type WireError } from '../../../protocols/errors.js'

/** Largest request body accepted. */
export const BODY_MAX_BYTES = 1024 * 1024

/** Access rules and limits; every limit has a default. */
export interface HttpAccess {
  /** Bearer token required by every route not marked public; none means no authentication. */
  token?: string
  /** Host names (without port) accepted besides the bound address, e.g. a DNS name of the node. */
  hostNames?: readonly string[]
  /** Connections served at once; further ones are closed at once. Default 1024 (long polls hold one each). */
  maxConnections?: number
  /** Time allowed to receive the request headers. Default 10 s. */
  headersTimeoutMs?: number
  /** Time allowed to receive the whole request, body included. Default 30 s. */
  requestTimeoutMs?: number
}

/**
 * A handler's answer: JSON, raw text with its content type, or a stream of text chunks (server-sent
 * events) written as they come; the stream should end when the request's `signal` aborts.
 */
export type Reply =
  { status: number; json: unknown } | { status: number; text: string; contentType: string } | { status: number; stream: AsyncIterable<string>; contentType: string }

/** One route; `:name` segments of the pattern become params. */
export interface Route {
  method: 'GET' | 'POST'
  pattern: string
  /** Served without the token (metrics and liveness). */
  public?: boolean
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

export async function startHttpServer(host: string, port: number, routes: readonly Route[], access: HttpAccess = {}): Promise<HttpServer> {
  const compiled = routes.map((r) => ({ ...r, parts: r.pattern.split('/').filter((p) => p !== '') }))
  const token = access.token === undefined ? undefined : Buffer.from(`Bearer ${access.token}`)
  let hostOk: (name: string) => boolean = () => false
  const headersTimeout = access.headersTimeoutMs ?? 10_000
  // Node enforces both timeouts on a sweep every connectionsCheckingInterval (30 s by default).
  const options = { headersTimeout, requestTimeout: access.requestTimeoutMs ?? 30_000, connectionsCheckingInterval: Math.min(1000, headersTimeout / 2), keepAliveTimeout: 5000 }
  const server = createServer(options, (req, res) => {
    handle(compiled, req, res, hostOk, token).catch((error: unknown) => send(res, statusOf(error), { error: errorBody(error) }))
  })
  server.maxConnections = access.maxConnections ?? 1024
  server.on('clientError', answerClientError)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  hostOk = hostCheck(address.address, new Set((access.hostNames ?? []).map((n) => n.toLowerCase())))
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

/**
 * A request Node's parser refused (malformed, headers too large, too slow) gets the same typed JSON
 * error as any other refusal instead of a bare status line; then the connection is closed. As in
 * Node's default handler, the answer is written only when no response in flight has begun.
 */
function answerClientError(error: NodeJS.ErrnoException, duplex: Duplex): void {
  const socket = duplex as Socket & { _httpMessage?: { _headerSent?: boolean } | null }
  if (socket.writable && socket._httpMessage?._headerSent !== true) {
    const [status, reason, code] =
      error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'ERR_HTTP_TIMEOUT']
        : error.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', 'ERR_HTTP_HEADERS_TOO_LARGE']
          : [400, 'Bad Request', 'ERR_HTTP_MALFORMED']
    const body = JSON.stringify({ error: { name: 'HttpError', code, message: `the request was refused before routing: ${reason.toLowerCase()}` } })
    socket.write(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

/** Which Host header names this server answers to, for the address it is bound to. */
function hostCheck(bound: string, names: ReadonlySet<string>): (name: string) => boolean {
  const wildcard = bound === '0.0.0.0' || bound === '::'
  const loopback = bound === '127.0.0.1' || bound === '::1' || bound.startsWith('127.')
  return (name) => names.has(name) || name === bound || (wildcard && isIP(name) !== 0) || ((wildcard || loopback) && name === 'localhost')
}

/** The host name of a Host header, lower-cased, without port or IPv6 brackets. */
function hostName(header: string | undefined): string {
  const text = (header ?? '').trim().toLowerCase()
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text)
  if (bracketed !== null) return bracketed[1]!
  return text.replace(/:\d+$/, '')
}

function authorized(req: IncomingMessage, token: Buffer): boolean {
  const given = Buffer.from(req.headers.authorization ?? '')
  return given.length === token.length && timingSafeEqual(given, token)
}

async function handle(
  routes: Array<Route & { parts: string[] }>,
  req: IncomingMessage,
  res: ServerResponse,
  hostOk: (name: string) => boolean,
  token: Buffer | undefined,
): Promise<void> {
  if (!hostOk(hostName(req.headers.host)))
    throw new HttpError(421, `this node does not answer to the host name ${JSON.stringify(req.headers.host ?? '')}; add it with --http-host-names`, 'ERR_HTTP_MISDIRECTED')
  const url = new URL(req.url ?? '/', 'http://localhost')
  const segments = url.pathname
    .split('/')
    .filter((p) => p !== '')
    .map(decodeSegment)
  let methodMismatch = false
  for (const route of routes) {
    const params = match(route.parts, segments)
    if (params === undefined) continue
    if (route.method !== req.method) {
      methodMismatch = true
      continue
    }
    if (token !== undefined && route.public !== true && !authorized(req, token)) {
      res.setHeader('www-authenticate', 'Bearer')
      throw new HttpError(401, 'this API needs the bearer token of --http-token-file', 'ERR_HTTP_UNAUTHORIZED')
    }
    if (req.method === 'POST' && !/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      throw new HttpError(415, 'POST bodies must be sent as content-type: application/json', 'ERR_HTTP_CONTENT_TYPE')
    }
    const body = req.method === 'POST' ? await readJson(req) : undefined
    const gone = new AbortController()
    res.once('close', () => {
      if (!res.writableFinished) gone.abort(new Error('the client went away'))
    })
    const reply = await route.handle({ params, query: url.searchParams, body, signal: gone.signal })
    if ('json' in reply) send(res, reply.status, reply.json)
    else if ('stream' in reply) await stream(res, reply.status, reply.contentType, reply.stream)
    else res.writeHead(reply.status, { 'content-type': reply.contentType }).end(reply.text)
    return
  }
  if (methodMismatch) throw new HttpError(405, `${req.method} is not allowed here`)
  throw new HttpError(404, `no route for ${url.pathname}`)
}

/** A path segment with its percent-escapes decoded; a malformed escape (`%`, a cut UTF-8 sequence) is a 400. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    throw new HttpError(400, `malformed percent-encoding in the path segment ${JSON.stringify(segment.slice(0, 100))}`, 'ERR_HTTP_PATH')
  }
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

/** Sends the headers at once (the client learns the request was accepted), then each chunk as it comes. */
async function stream(res: ServerResponse, status: number, contentType: string, chunks: AsyncIterable<string>): Promise<void> {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' }).flushHeaders()
  for await (const chunk of chunks) {
    if (res.destroyed) break
    res.write(chunk)
  }
  res.end()
}

function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status
  const name = (error as { name?: unknown }).name
  if (name === 'InvalidJobError' || name === 'UnknownJobTypeError' || name === 'InvalidArgumentError') return 400
  if (name === 'PayloadTooLargeError') return 413
  if (name === 'ClusterSaturatedError' || name === 'NoLeaderError' || name === 'JobLogUnavailableError') return 503
  // A wait that ended before its answer (`?timeoutMs=`): the work goes on; ask again.
  if (name === 'AbortedError') return 504
  return 500
}

function errorBody(error: unknown): WireError {
  return toWireError(error, 'ERR_INTERNAL')
}
