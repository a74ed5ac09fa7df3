/**
 * `distributex entities`: the entity activations of every live peer (type, key, shard, epoch), and
 * `distributex entities ask <type> <key> <message-json>`, which asks one entity through a node.
 */
import type { EntityInfo } from '../entities/types.js'
import { NodeRequestError, nodeTarget, request, type NodeOptions } from './http-client.js'

interface EntitiesDocument {
  peers: Array<{ node: string; entities: EntityInfo[]; error?: string }>
}

export interface EntitiesOptions extends NodeOptions {
  readonly json?: boolean | undefined
}

export interface AskOptions extends NodeOptions {
  readonly timeoutMs?: number | undefined
}

/** `distributex entities [list] [--json]` */
export async function listEntities(options: EntitiesOptions): Promise<number> {
  const doc = await request<EntitiesDocument>(nodeTarget(options.http, options.httpTokenFile, process.env), 'GET', '/entities')
  process.stdout.write(options.json === true ? JSON.stringify(doc, null, 2) + '\n' : formatEntities(doc))
  return 0
}

/** `distributex entities ask <type> <key> <message-json> [--timeout-ms N]` */
export async function askEntity(type: string, key: string, message: string, options: AskOptions): Promise<number> {
  let parsed: unknown
  try {
    parsed = JSON.parse(message)
  } catch (error) {
    throw new NodeRequestError(`the message is not JSON: ${(error as Error).message}`, undefined)
  }
  const reply = await request<{ value: unknown }>(
    nodeTarget(options.http, options.httpTokenFile, process.env),
    'POST',
    `/entities/${encodeURIComponent(type)}/${encodeURIComponent(key)}`,
    { message: parsed, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) },
  )
  process.stdout.write(JSON.stringify(reply.value) + '\n')
  return 0
}

/** One line per peer with its count, then its activations. */
export function formatEntities(doc: EntitiesDocument): string {
  const lines: string[] = []
  for (const peer of doc.peers) {
    lines.push(`${peer.node}: ${peer.error === undefined ? `${peer.entities.length} active` : `unreachable (${peer.error})`}`)
    for (const e of [...peer.entities].sort((a, b) => a.type.localeCompare(b.type) || a.key.localeCompare(b.key)))
      lines.push(`  ${e.type}/${e.key}  shard ${e.shard}  epoch ${e.epoch}`)
  }
  return lines.join('\n') + '\n'
}
