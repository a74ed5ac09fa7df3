/**
 * Separate hosts on one machine: network namespaces joined by a bridge (the data network, on which
 * peers talk libp2p) plus one management link each (on which tests reach the peer's HTTP API).
 * Cutting a namespace's bridge link partitions it from the other peers while the test can still
 * read its /status. Needs root and iproute2.
 */
import { execFileSync } from 'node:child_process'

/**
 * A network of hosts: its namespace prefix and the second octet of its two subnets, so that two
 * test files running at once build separate networks (bridge, namespaces and addresses).
 */
export interface HostNet {
  readonly prefix: string
  /** Data network 10.<octet>.0.0/24, management links 10.<octet+1>.<i>.0/30. */
  readonly octet: number
}

/** The network of test/cluster/netns.test.ts; other files pass their own. */
export const DEFAULT_NET: HostNet = { prefix: 'dxh', octet: 77 }

function bridgeOf(net: HostNet): string {
  return `${net.prefix}br`
}

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
export function setupHosts(count: number, net: HostNet = DEFAULT_NET): Host[] {
  teardownHosts(count, net)
  const { prefix, octet } = net
  const bridge = bridgeOf(net)
  ip('link', 'add', bridge, 'type', 'bridge')
  ip('link', 'set', bridge, 'up')
  const hosts: Host[] = []
  for (let i = 0; i < count; i++) {
    const ns = `${prefix}${i}`
    const dataIp = `10.${octet}.0.${i + 1}`
    const mgmtIp = `10.${octet + 1}.${i}.2`
    ip('netns', 'add', ns)
    ip('link', 'add', `${ns}d`, 'type', 'veth', 'peer', 'name', `${ns}dp`)
    ip('link', 'set', `${ns}dp`, 'netns', ns)
    ip('link', 'set', `${ns}d`, 'master', bridge)
    ip('link', 'set', `${ns}d`, 'up')
    ip('-n', ns, 'addr', 'add', `${dataIp}/24`, 'dev', `${ns}dp`)
    ip('-n', ns, 'link', 'set', `${ns}dp`, 'up')
    ip('link', 'add', `${ns}m`, 'type', 'veth', 'peer', 'name', `${ns}mp`)
    ip('link', 'set', `${ns}mp`, 'netns', ns)
    ip('addr', 'add', `10.${octet + 1}.${i}.1/30`, 'dev', `${ns}m`)
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
export function teardownHosts(count: number, net: HostNet = DEFAULT_NET): void {
  const { prefix } = net
  for (let i = 0; i < count; i++) {
    for (const args of [
      ['netns', 'del', `${prefix}${i}`],
      ['link', 'del', `${prefix}${i}d`],
      ['link', 'del', `${prefix}${i}m`],
    ]) {
      try {
        ip(...args)
      } catch {
        // already gone
      }
    }
  }
  try {
    ip('link', 'del', bridgeOf(net))
  } catch {
    // already gone
  }
}
