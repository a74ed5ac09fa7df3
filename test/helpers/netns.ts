/**
 * Separate hosts on one machine: network namespaces joined by a bridge (the data network, on which
 * peers talk libp2p) plus one management link each (on which tests reach the peer's HTTP API).
 * Cutting a namespace's bridge link partitions it from the other peers while the test can still
 * read its /status. Needs root and iproute2.
 */
import { execFileSync } from 'node:child_process'

const BRIDGE = 'dxbr0'

/** One simulated host. */
export interface Host {
  readonly ns: string
  /** Address on the data network. */
  readonly dataIp: string
  /** Address the test uses to reach the host's HTTP API. */
  readonly mgmtIp: string
  readonly index: number
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

/** True when this process may create namespaces. */
export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) return false
  try {
    execFileSync('ip', ['netns', 'list'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Creates `count` hosts; call `teardown` afterwards (it also clears leftovers of an earlier run). */
export function setupHosts(count: number, prefix = 'dxh'): Host[] {
  teardownHosts(count, prefix)
  ip('link', 'add', BRIDGE, 'type', 'bridge')
  ip('link', 'set', BRIDGE, 'up')
  const hosts: Host[] = []
  for (let i = 0; i < count; i++) {
    const ns = `${prefix}${i}`
    const dataIp = `10.77.0.${i + 1}`
    const mgmtIp = `10.78.${i}.2`
    ip('netns', 'add', ns)
    ip('link', 'add', `${ns}d`, 'type', 'veth', 'peer', 'name', `${ns}dp`)
    ip('link', 'set', `${ns}dp`, 'netns', ns)
    ip('link', 'set', `${ns}d`, 'master', BRIDGE)
    ip('link', 'set', `${ns}d`, 'up')
    ip('-n', ns, 'addr', 'add', `${dataIp}/24`, 'dev', `${ns}dp`)
    ip('-n', ns, 'link', 'set', `${ns}dp`, 'up')
    ip('link', 'add', `${ns}m`, 'type', 'veth', 'peer', 'name', `${ns}mp`)
    ip('link', 'set', `${ns}mp`, 'netns', ns)
    ip('addr', 'add', `10.78.${i}.1/30`, 'dev', `${ns}m`)
    ip('link', 'set', `${ns}m`, 'up')
    ip('-n', ns, 'addr', 'add', `${mgmtIp}/30`, 'dev', `${ns}mp`)
    ip('-n', ns, 'link', 'set', `${ns}mp`, 'up')
    ip('-n', ns, 'link', 'set', 'lo', 'up')
    hosts.push({ ns, dataIp, mgmtIp, index: i })
  }
  return hosts
}

/** Cuts (or restores) a host's link to the data network. */
export function setDataLink(host: Host, up: boolean): void {
  ip('link', 'set', `${host.ns}d`, up ? 'up' : 'down')
}

/** Removes the hosts and the bridge; safe to call when they do not exist. */
export function teardownHosts(count: number, prefix = 'dxh'): void {
  for (let i = 0; i < count; i++) {
    for (const args of [['netns', 'del', `${prefix}${i}`], ['link', 'del', `${prefix}${i}d`], ['link', 'del', `${prefix}${i}m`]]) {
      try {
        ip(...args)
      } catch {
        // already gone
      }
    }
  }
  try {
    ip('link', 'del', BRIDGE)
  } catch {
    // already gone
  }
}
