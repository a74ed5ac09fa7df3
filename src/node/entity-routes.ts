/**
 * HTTP routes of cluster entities: `POST /entities/:type/:key` asks an entity ({message, timeoutMs})
 * and returns its reply; `GET /entities` lists the activations of every live peer.
 */
import { HttpError, type Route } from '../adapters/http/server.js'
import type { ActorSystem } from '../actor/system.js'
import type { Ask, Message } from '../actor/types.js'
import { ENTITIES_PATH, type EntitiesMsg } from '../../actors/entities.js'
import type { ClusterView } from '../cluster/types.js'
import { entityAddress } from '../entities/address.js'
import type { EntityClient } from '../entities/client.js'
import type { EntityInfo } from '../entities/types.js'

/** Default and longest wait of an entity ask over HTTP. */
const ASK_DEFAULT_MS = 10_000
const ASK_MAX_MS = 600_000
/** How long GET /entities waits for each peer. */
const LIST_TIMEOUT_MS = 3000

/** Errors of an entity ask, as HTTP statuses (by error code, so errors rebuilt from other peers map too). */
const STATUS_BY_CODE: Record<string, number> = {
  ERR_INVALID_ARGUMENT: 400,
  ERR_UNKNOWN_ENTITY_TYPE: 404,
  ERR_UNHANDLED_MESSAGE: 400,
  ERR_FORBIDDEN_MESSAGE: 400,
  ERR_INVALID_ENVELOPE: 400,
  ERR_ASK_TIMEOUT: 504,
  ERR_ENTITY_UNAVAILABLE: 503,
  ERR_NODE_UNREACHABLE: 503,
  ERR_STALE_EPOCH: 503,
  ERR_MAILBOX_FULL: 503,
}

export function entityRoutes(deps: { system: ActorSystem; entities: EntityClient; view: () => ClusterView | undefined }): Route[] {
  return [
    {
      method: 'POST',
      pattern: '/entities/:type/:key',
      async handle({ params, body }) {
        const type = params.type!
        const request = body as { message?: unknown; timeoutMs?: unknown } | undefined
        const message = request?.message as { type?: unknown } | undefined
        if (typeof message !== 'object' || message === null || typeof message.type !== 'string')
          throw new HttpError(400, 'body must be {"message": {"type": string, ...}, "timeoutMs"?: number}', 'ERR_HTTP_BODY')
        const timeoutMs = request?.timeoutMs ?? ASK_DEFAULT_MS
        if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > ASK_MAX_MS)
          throw new HttpError(400, `timeoutMs must be a number of milliseconds between 1 and ${ASK_MAX_MS}`, 'ERR_HTTP_BODY')
        if (!deps.entities.types.has(type))
          throw new HttpError(404, `unknown entity type ${type}: register it with defineEntity in the --actors module of every peer`, 'ERR_UNKNOWN_ENTITY_TYPE')
        let address
        try {
          address = entityAddress(type, params.key!)
        } catch (error) {
          throw new HttpError(400, (error as Error).message, 'ERR_INVALID_ARGUMENT')
        }
        try {
          const reply = await deps.system.ref<Ask<Message, unknown>>(address).ask(message as Ask<Message, unknown>, { timeoutMs })
          return { status: 200, json: { ok: true, value: reply ?? null } }
        } catch (error) {
          const e = error as Error & { code?: unknown }
          const code = typeof e.code === 'string' ? e.code : 'ERR_INTERNAL'
          throw new HttpError(STATUS_BY_CODE[code] ?? 500, `${e.name}: ${e.message}`, code)
        }
      },
    },
    {
      method: 'GET',
      pattern: '/entities',
      async handle() {
        const view = deps.view()
        const nodes = (view?.members ?? []).filter((m) => m.state === 'up' || m.nodeId === view?.self).map((m) => m.nodeId)
        const peers = await Promise.all(
          nodes.map(async (node) => {
            try {
              const entities: EntityInfo[] = await deps.system.ref<EntitiesMsg>({ node, path: ENTITIES_PATH }).ask({ type: 'list' }, { timeoutMs: LIST_TIMEOUT_MS })
              return { node, entities }
            } catch (error) {
              return { node, entities: [], error: (error as Error).message }
            }
          }),
        )
        return { status: 200, json: { peers } }
      },
    },
  ]
}
