/**
 * `distributex entities`: the entity activations of every live peer (type, key, shard, epoch), and
 * `distributex entities ask <type> <key> <message-json>`, which asks one entity through a node.
 */
import { parseArgs } from 'node:util'
import type { EntityInfo } from '../entities/types.js'
import { NodeRequestError, nodeUrl, request } from './http-client.js'

interface EntitiesDocument {
  peers: Array<{ node: string; entities: EntityInfo[]; error?: string }>
}

/** `distributex entities [list] [--json] [--http host:port]`, `distributex entities ask <type> <key> <json> [--timeout-ms N]` */
export async function runEntities(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { http: { type: 'string' }, json: { type: 'boolean', default: false }, 'timeout-ms': { type: 'string' } } })
  const base = nodeUrl(values.http, process.env)
  const [command = 'list', type, key, message] = positionals
  switch (command) {
    case 'list': {
      const doc = await request<EntitiesDocument>(base, 'GET', '/entities')
      process.stdout.write(values.json ? JSON.stringify(doc, null, 2) + '\n' : formatEntities(doc))
      return 0
    }
    case 'ask': {
      if (type === undefined || key === undefined || message === undefined) throw new NodeRequestError('usage: distributex entities ask <type> <key> <message-json> [--timeout-ms N]', undefined)
      let parsed: unknown
      try {
        parsed = JSON.parse(message)
      } catch (error) {
        throw new NodeRequestError(`the message is not JSON: ${(error as Error).message}`, undefined)
      }
      const reply = await request<{ value: unknown }>(base, 'POST', `/entities/${encodeURIComponent(type)}/${encodeURIComponent(key)}`, { message: parsed, ...(values['timeout-ms'] === undefined ? {} : { timeoutMs: Number(values['timeout-ms']) }) })
      process.stdout.write(JSON.stringify(reply.value) + '\n')
      return 0
    }
    default:
      throw new NodeRequestError(`unknown entities command ${JSON.stringify(command)}: use list or ask`, undefined)
  }
}

/** One line per peer with its count, then its activations. */
export function formatEntities(doc: EntitiesDocument): string {
  const lines: string[] = []
  for (const peer of doc.peers) {
    lines.push(`${peer.node}: ${peer.error === undefined ? `${peer.entities.length} active` : `unreachable (${peer.error})`}`)
    for (const e of [...peer.entities].sort((a, b) => a.type.localeCompare(b.type) || a.key.localeCompare(b.key))) lines.push(`  ${e.type}/${e.key}  shard ${e.shard}  epoch ${e.epoch}`)
  }
  return lines.join('\n') + '\n'
}
