/** A bare world for fault tests: each node records what reaches it, on a protocol and a topic. */
import { World, type NodeContext } from '../../sim/world.js'

export interface Probe {
  readonly ctx: NodeContext
  readonly received: Array<{ from: string; text: string; atMs: number }>
  readonly peerEvents: string[]
}

export const PROTOCOL = '/test/probe'
export const TOPIC = 'test.topic'

export function probeWorld(nodes: number, seed = 1): World<Probe> {
  const world: World<Probe> = new World<Probe>(seed, nodes, (ctx) => {
    const probe: Probe = { ctx, received: [], peerEvents: [] }
    const record = (from: string, payload: Uint8Array): void => void probe.received.push({ from, text: new TextDecoder().decode(payload), atMs: world.nowMs })
    ctx.network.handle(PROTOCOL, record)
    ctx.network.subscribe(TOPIC, record)
    ctx.network.onPeerChange((peer, up) => probe.peerEvents.push(`${peer}:${up ? 'up' : 'down'}`))
    return probe
  })
  for (const node of world.nodes) world.start(node)
  return world
}

/** Runs the world's kernel up to `ms`. */
export async function runUntil<App>(world: World<App>, ms: number): Promise<void> {
  await world.kernel.run(
    ms * 1000,
    () => true,
    (error) => {
      throw error
    },
  )
}

export function app<App>(world: World<App>, id: string): App {
  const a = world.node(id).app
  if (a === undefined) throw new Error(`${id} is down`)
  return a
}

export const bytes = (text: string): Uint8Array => new TextEncoder().encode(text)
