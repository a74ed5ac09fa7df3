/**
 * A gossip-style heartbeat actor: every interval it broadcasts (incarnation, counter) on a topic
 * and keeps, per peer, the newest pair it has seen and when. A pair counts only if it is newer
 * than the one recorded, so reordered, duplicated or stale broadcasts never move a view backwards.
 * The incarnation comes from the node's durable store, so it grows across restarts.
 */
import { Packr } from 'msgpackr'
import { defineActor } from '../../../src/actor/define.js'
import type { Network } from '../../../src/net/types.js'
import type { DurableStore } from '../../../src/storage/types.js'

/** The heartbeat topic. */
export const HEARTBEAT_TOPIC = 'dx.sim.heartbeat'

/** What a node knows about one peer. */
export interface PeerView {
  incarnation: number
  counter: number
  lastSeenMs: number
}

export type HeartbeatMsg = { type: 'beat' } | { type: 'seen'; from: string; incarnation: number; counter: number }

/** Options of the heartbeat actor. */
export interface HeartbeatInit {
  network: Network
  store: DurableStore
  intervalMs: number
  /** The view this actor maintains; the scenario reads it. */
  view: Map<string, PeerView>
  /** Told of every peer whose entry changed, so checkers need not rescan the view. */
  changed: string[]
  /** Deliberate bug for checker tests: accept any pair, even an older one. */
  acceptStale?: boolean
}

const packr = new Packr({ useRecords: false })

function decode(bytes: Uint8Array): { incarnation: number; counter: number } | undefined {
  try {
    const value = packr.unpack(bytes) as unknown
    if (!Array.isArray(value) || typeof value[0] !== 'number' || typeof value[1] !== 'number') return undefined
    return { incarnation: value[0], counter: value[1] }
  } catch {
    return undefined
  }
}

export function heartbeat(init: HeartbeatInit) {
  return defineActor<HeartbeatMsg>({
    // Beats come from its own timer and sightings from its checked gossip subscription.
    remote: { beat: 'never', seen: 'never' },
    async setup(ctx) {
      const stored = await init.store.read('heartbeat/incarnation')
      const incarnation = (stored === undefined ? 0 : new DataView(stored.buffer, stored.byteOffset).getUint32(0)) + 1
      const bytes = new Uint8Array(4)
      new DataView(bytes.buffer).setUint32(0, incarnation)
      await init.store.write('heartbeat/incarnation', bytes)
      let counter = 0
      init.network.subscribe(HEARTBEAT_TOPIC, (from, payload) => {
        const pair = decode(payload)
        if (pair !== undefined) ctx.self.tell({ type: 'seen', from, ...pair })
      })
      ctx.onStop(() => init.network.unsubscribe(HEARTBEAT_TOPIC))
      ctx.timers.every('beat', init.intervalMs, { type: 'beat' })
      return {
        beat() {
          counter++
          init.network.publish(HEARTBEAT_TOPIC, packr.pack([incarnation, counter]))
        },
        seen(msg) {
          const known = init.view.get(msg.from)
          const newer = known === undefined || msg.incarnation > known.incarnation || (msg.incarnation === known.incarnation && msg.counter > known.counter)
          if (!newer && init.acceptStale !== true) return
          init.view.set(msg.from, { incarnation: msg.incarnation, counter: msg.counter, lastSeenMs: ctx.env.clock.monotonicMs() })
          init.changed.push(msg.from)
        },
      }
    },
  })
}
