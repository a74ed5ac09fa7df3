/**
 * `distributex members`: the members as one node sees them (role, state, last seen), and
 * `distributex members remove <nodeId>`, which removes a member that is down for good (its disk is
 * gone, say) through the leader, so the voter set need not wait for the automatic replacement.
 */
import type { StatusDocument } from '../node/http-api.js'
import { nodeTarget, request, type NodeOptions } from './http-client.js'

export interface MembersOptions extends NodeOptions {
  readonly json?: boolean | undefined
}

/** `distributex members [list] [--json]`: the members as a table, or as JSON. */
export async function listMembers(options: MembersOptions): Promise<number> {
  const status = await request<StatusDocument>(nodeTarget(options.http, options.httpTokenFile, process.env), 'GET', '/status')
  process.stdout.write(options.json === true ? JSON.stringify(status.members, null, 2) + '\n' : formatMembers(status))
  return 0
}

/** `distributex members remove <nodeId>`, through the leader. */
export async function removeMember(id: string, options: NodeOptions): Promise<number> {
  await request<{ removed: string }>(nodeTarget(options.http, options.httpTokenFile, process.env), 'POST', `/members/${encodeURIComponent(id)}/remove`)
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
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  const leader = status.leader === null ? 'none' : `${status.leader.nodeId} (epoch ${status.leader.epoch})`
  const voters = status.members.filter((m) => m.voter === true).length
  return [
    `cluster ${status.clusterId ?? 'unknown'}  leader ${leader}  ${voters} voters, ${status.members.length - voters} workers${status.resigned === undefined ? '' : `  (this node resigned: ${status.resigned})`}`,
    '',
    line(header),
    ...rows.map(line),
    '',
  ].join('\n')
}
