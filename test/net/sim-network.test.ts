// Goal: the simulator's network passes the same Network port compliance suite as the libp2p
// binding, on virtual time, so code tested in the simulator meets the same contract it meets in production.
import { World } from '../../sim/world.js'
import type { Network } from '../../src/net/types.js'
import { networkComplianceSuite, type NetworkCluster } from './network.suite.js'

networkComplianceSuite('simulated network', async (size) => {
  const world = new World<Network>(7, size + 2, (ctx) => ctx.network)
  const slots = world.nodes
  for (const node of slots.slice(0, size)) world.start(node)
  let next = size
  const runFor = async (ms: number): Promise<void> => {
    await world.kernel.run(
      world.kernel.now + ms * 1000,
      () => true,
      (error) => {
        throw error
      },
    )
  }
  await runFor(1)
  const cluster: NetworkCluster = {
    get nodes() {
      return slots.filter((s) => s.app !== undefined && s.owner.status === 'up').map((s) => s.app!)
    },
    async addNode() {
      const slot = slots[next++]!
      world.start(slot)
      await runFor(1)
      return slot.app!
    },
    async removeNode(node) {
      world.crash(slots.find((s) => s.app === node)!)
    },
    async waitFor(condition, what, timeoutMs) {
      for (let waited = 0; !condition(); waited += 10) {
        if (waited > timeoutMs) throw new Error(`simulated time ran out waiting for ${what}`)
        await runFor(10)
      }
    },
    idle: runFor,
    async close() {},
  }
  return cluster
})
