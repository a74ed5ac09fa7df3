/** The CLI's client of a node's HTTP API. */
import { hostPort, readToken } from '../node/config.js'

/** Thrown when the node answers with an error or cannot be reached. */
export class NodeRequestError extends Error {
  override readonly name: string = 'NodeRequestError'
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message)
  }
}

/** Thrown when the node cannot be reached, or answers that the cluster cannot take the request now (HTTP 503: no leader, job log unavailable, saturated). */
export class NodeUnavailableError extends NodeRequestError {
  override readonly name = 'NodeUnavailableError'
}

/** The node to talk to: --http, else DX_HTTP (unless empty, as for `start`), else the default endpoint. */
export function nodeUrl(http: string | undefined, env: Record<string, string | undefined>): string {
  const { host, port } = hostPort(http ?? (env.DX_HTTP === '' ? undefined : env.DX_HTTP) ?? '127.0.0.1:7401')
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** The options of every command that talks to a node (`--http`, `--http-token-file`). */
export interface NodeOptions {
  readonly http?: string | undefined
  readonly httpTokenFile?: string | undefined
}

/** A node's API: its base URL and the bearer token it wants, if any. */
export interface NodeTarget {
  readonly url: string
  readonly token: string | undefined
}

/** The node to talk to and its token: --http-token-file, else DX_HTTP_TOKEN_FILE, else none. */
export function nodeTarget(http: string | undefined, tokenFile: string | undefined, env: Record<string, string | undefined>): NodeTarget {
  const file = tokenFile ?? env.DX_HTTP_TOKEN_FILE
  return { url: nodeUrl(http, env), token: file === undefined || file === '' ? undefined : readToken(file) }
}

/** Sends one request and returns the parsed JSON body; throws NodeRequestError for errors. */
export async function request<T>(target: NodeTarget | string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const { url: base, token } = typeof target === 'string' ? { url: target, token: undefined } : target
  const headers: Record<string, string> = method === 'POST' ? { 'content-type': 'application/json' } : {}
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  let res: Response
  try {
    res = await fetch(`${base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
  } catch (error) {
    throw new NodeUnavailableError(
      `cannot reach the node at ${base}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
      undefined,
    )
  }
  const json = (await res.json().catch(() => null)) as { error?: { name: string; message: string } } | null
  if (!res.ok) {
    const message = json?.error === undefined ? `HTTP ${res.status}` : `${json.error.name}: ${json.error.message}`
    throw res.status === 503 ? new NodeUnavailableError(message, res.status) : new NodeRequestError(message, res.status)
  }
  return json as T
}
