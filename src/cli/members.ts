/**
 * `distributex members`: the members as one node sees them (role, state, last seen), and
 * `distributex members remove <nodeId>`, which removes a member that is down for good (its disk is
 * gone, say) through the leader, so the voter set need not wait for the automatic replacement.
 */
import type { StatusDocument } from '../node/http-api.js'
import { nodeTarget, request, type NodeOptions } from './http-client.js'
import { tableLines } from './table.js'
import { showProgress, Waiting } from './progress.js'
import { realEnvironment } from '../env/real.js'

export interface MembersOptions extends NodeOptions {
  readonly json?: boolean | undefined
}

/** `distributex members [list] [--json]`: the members as a table, or as JSON. */
export async function listMembers(options: MembersOptions): Promise<number> {
  const status = await request<StatusDocument>(nodeTarget(options.http, options.httpTokenFile, process.env), 'GET', '/status')
  process.stdout.write(options.json === true ? JSON.stringify(status.members, null, 2) + '\n' : formatMembers(status))
  return 0
}

export interface RemoveOptions extends NodeOptions {
  readonly progress?: boolean | undefined
}

/**
 * `distributex members remove <nodeId> [--progress]`, through the leader, which answers once a
 * majority holds the new configuration (up to several seconds): on a terminal, or with
 * --progress, the time waited so far shows on stderr.
 */
export async function removeMember(id: string, options: RemoveOptions): Promise<number> {
  const target = nodeTarget(options.http, options.httpTokenFile, process.env)
  const env = realEnvironment({ logLevel: 'error' })
  const waiting = showProgress(process.stderr, options.progress) ? new Waiting(process.stderr, `removing ${id}`, env.clock, env.timers) : undefined
  try {
    await request<{ removed: string }>(target, 'POST', `/members/${encodeURIComponent(id)}/remove`)
    waiting?.stop('done')
  } finally {
    waiting?.stop('failed')
  }
  process.stdout.write(`removed ${id} from the cluster\n`)
  return 0
}

/** Renders the members of a status document as a table, the leader first, then voters, then workers. */
export function formatMembers(status: StatusDocument): string {
  const order = { leader: 0, voter: 1, worker: 2 } as Record<string, number>
  const members = [...status.members].sort((a, b) => (order[String(a.role)] ?? 3) - (order[String(b.role)] ?? 3) || a.nodeId.localeCompare(b.nodeId))
  const header = ['NODE', 'ROLE', 'STATE', 'LAST SEEN', 'ADDRESS']
  const rows = members.map((m) => [
    `${m.nodeId}${m.nodeId === status.nodeId ? ' (this)' : ''}`,
    String(m.role ?? (m.voter === true ? 'voter' : 'worker')),
    m.state,
    m.nodeId === status.nodeId ? '-' : m.lastSeenMsAgo === null || m.lastSeenMsAgo === undefined ? 'never' : `${m.lastSeenMsAgo} ms ago`,
    String((m.addresses as string[] | undefined)?.[0] ?? '-'),
  ])
  const leader = status.leader === null ? 'none' : `${status.leader.nodeId} (epoch ${status.leader.epoch})`
  const voters = status.members.filter((m) => m.voter === true).length
  return [
    `cluster ${status.clusterId ?? 'unknown'}  leader ${leader}  ${voters} voters, ${status.members.length - voters} workers${status.resigned === undefined ? '' : `  (this node resigned: ${status.resigned})`}`,
    '',
    ...tableLines(header, rows),
    '',
  ].join('\n')
}
