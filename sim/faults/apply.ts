/** Carries out fault actions against a world. */
import { EventKind } from '../kernel/loop.js'
import { HEALTHY_LINKS } from '../net/network.js'
import type { World } from '../world.js'
import type { FaultAction } from './schedule.js'

/** Applies one action now. */
export function applyFault<App>(world: World<App>, action: FaultAction): void {
  const { network, kernel } = world
  world.log('nemesis', describeFault(action))
  switch (action.kind) {
    case 'partition':
      network.block(action.blocked)
      return
    case 'heal':
      network.heal()
      return
    case 'crash':
      world.crash(world.node(action.node))
      return
    case 'restart':
      world.start(world.node(action.node))
      return
    case 'pause':
      world.pause(world.node(action.node), action.forMs)
      return
    case 'skew':
      world.node(action.node).skew.set(kernel, action.offsetMs, action.drift)
      return
    case 'links':
      network.faults = { ...network.faults, lossRate: action.lossRate, duplicateRate: action.duplicateRate, reorderRate: action.reorderRate }
      return
    case 'clog':
      network.clog(action.a, action.b, kernel.now + action.forMs * 1000)
      return
    case 'slow':
      network.faults = { ...network.faults, latencyMinMs: action.latencyMinMs, latencyMeanMs: action.latencyMeanMs }
      return
    case 'log-outage':
      world.jobLog.down = true
      world.at(world.nowMs + action.forMs, () => (world.jobLog.down = false), EventKind.Fault)
      return
    case 'ambiguous-ack':
      world.jobLog.ambiguousAckRate = action.rate
      world.at(world.nowMs + action.forMs, () => (world.jobLog.ambiguousAckRate = 0), EventKind.Fault)
      return
    case 'cache-loss':
      world.cache.loseRecentWrites(action.windowMs)
      return
    case 'power-loss': {
      const node = world.node(action.node)
      if (node.owner.status === 'crashed') return
      node.disk.replica.powerLoss()
      world.crash(node)
      return
    }
    case 'disk-broken': {
      const node = world.node(action.node)
      if (node.owner.status !== 'crashed') node.disk.replica.breakDisk()
      return
    }
    case 'disk-full': {
      const replica = world.node(action.node).disk.replica
      replica.full = true
      world.at(world.nowMs + action.forMs, () => (replica.full = false), EventKind.Fault)
    }
  }
}

/** Ends every fault: links heal, services come back, crashed nodes restart, paused ones resume. */
export function healAll<App>(world: World<App>): void {
  world.log('nemesis', 'final heal')
  world.network.heal()
  world.network.faults = { ...HEALTHY_LINKS }
  world.jobLog.down = false
  world.jobLog.ambiguousAckRate = 0
  world.cache.down = false
  for (const node of world.nodes) {
    node.disk.replica.full = false
    // A broken disk heals only by a restart, as an operator would do.
    if (node.disk.replica.broken) world.crash(node)
    if (node.owner.status === 'crashed') world.start(node)
    else world.resume(node)
  }
}

/** A one-line description of an action, for logs and reports. */
export function describeFault(action: FaultAction): string {
  const { atMs: _at, kind, ...rest } = action
  if (kind === 'partition') return `partition ${action.shape} (${action.blocked.length} links)`
  const details = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v * 1000) / 1000 : String(v)}`)
  return [kind, ...details].join(' ')
}
