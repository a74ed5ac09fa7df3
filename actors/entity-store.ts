/**
 * The entity-state replica actor: runs on every node at /system/entity-store and serves the
 * replica operations of the embedded quorum store (src/entities/quorum-store.ts) over the node's
 * DurableStore. Operations run concurrently across keys and one at a time per key (replica.ts);
 * the actor answers each when its write is durable.
 */
import { defineActor, EntityReplica } from '../src/internal.js'
import type { ActorSystem, Ask, DurableStore, ReplicaAnswer, ReplicaTransport, StoredEntityState } from '../src/internal.js'

export const ENTITY_STORE_PATH = '/system/entity-store'

/** How long a replica operation may take before the quorum counts it as failed. */
const REPLICA_TIMEOUT_MS = 5000
const STATE_MAX_BYTES = 512 * 1024

export type EntityStoreMsg =
  Ask<{ type: 'claim'; entity: string; key: string; epoch: number }, ReplicaAnswer> | Ask<{ type: 'write'; entity: string; key: string; state: StoredEntityState }, ReplicaAnswer>

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,127}$/
const isName = (v: unknown): boolean => typeof v === 'string' && NAME.test(v)
const isEpoch = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0

export function entityStoreActor(store: DurableStore) {
  return defineActor<EntityStoreMsg>({
    remote: {
      claim: (_from, m) => {
        const c = m as { entity?: unknown; key?: unknown; epoch?: unknown }
        return isName(c.entity) && isName(c.key) && isEpoch(c.epoch)
      },
      write: (_from, m) => {
        const w = m as { entity?: unknown; key?: unknown; state?: { epoch?: unknown; version?: unknown; value?: unknown } }
        return (
          isName(w.entity) &&
          isName(w.key) &&
          isEpoch(w.state?.epoch) &&
          isEpoch(w.state?.version) &&
          w.state?.value instanceof Uint8Array &&
          w.state.value.byteLength <= STATE_MAX_BYTES
        )
      },
    },
    setup() {
      const replica = new EntityReplica(store)
      return {
        claim: (msg, ctx) => {
          const reply = ctx.defer()
          replica.claim(msg.entity, msg.key, msg.epoch).then(reply.resolve, reply.reject)
          return reply
        },
        write: (msg, ctx) => {
          const reply = ctx.defer()
          replica.write(msg.entity, msg.key, { epoch: msg.state.epoch, version: msg.state.version, value: msg.state.value }).then(reply.resolve, reply.reject)
          return reply
        },
      }
    },
  })
}

/** Reaches the replica actors of other nodes (and this one) through the actor system. */
export function replicaTransport(system: ActorSystem): ReplicaTransport {
  const ref = (node: string) => system.ref<EntityStoreMsg>({ node, path: ENTITY_STORE_PATH })
  const opts = (signal: AbortSignal | undefined) => (signal === undefined ? { timeoutMs: REPLICA_TIMEOUT_MS } : { timeoutMs: REPLICA_TIMEOUT_MS, signal })
  return {
    claim: (node, type, key, epoch, options) => ref(node).ask({ type: 'claim', entity: type, key, epoch }, opts(options?.signal)),
    write: (node, type, key, state, options) => ref(node).ask({ type: 'write', entity: type, key, state }, opts(options?.signal)),
  }
}
