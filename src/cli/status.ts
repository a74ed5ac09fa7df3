/** `distributex status`: the cluster as one node sees it, as a table; on the leader, with its active alerts. */
import type { StatusDocument } from '../node/http-api.js'
import { nodeTarget, request, type NodeOptions } from './http-client.js'
import { tableLines } from './table.js'

export interface StatusOptions extends NodeOptions {
  readonly json?: boolean | undefined
}

export async function runStatus(options: StatusOptions): Promise<number> {
  const status = await request<StatusDocument>(nodeTarget(options.http, options.httpTokenFile, process.env), 'GET', '/status')
  if (options.json === true) {
    process.stdout.write(JSON.stringify(status, null, 2) + '\n')
    return 0
  }
  process.stdout.write(formatStatus(status))
  return 0
}

/** Renders the status document as text. */
export function formatStatus(status: StatusDocument): string {
  const leader = status.leader === null ? 'none' : `${status.leader.nodeId} (epoch ${status.leader.epoch})`
  const header = ['NODE', 'STATE', 'VOTER', 'CAPACITY', 'RUNNING', 'QUEUED', 'LAG ms', 'CPU', 'MEM MB', 'SEEN']
  const rows = status.members.map((m) => [
    `${m.nodeId === status.leader?.nodeId ? '*' : ' '}${m.nodeId}${m.nodeId === status.nodeId ? ' (this)' : ''}`,
    m.state,
    m.voter === true ? 'yes' : 'no',
    String(m.capacity ?? '-'),
    String(m.running ?? '-'),
    String(m.queued ?? '-'),
    String(m.eventLoopLagMs ?? '-'),
    m.cpu === undefined ? '-' : `${Math.round(Number(m.cpu) * 100)}%`,
    String(m.memoryMb ?? '-'),
    m.lastSeenMsAgo === null || m.lastSeenMsAgo === undefined ? '-' : `${m.lastSeenMsAgo} ms ago`,
  ])
  return [
    `node ${status.nodeId}  leader ${leader}${status.leading ? '  (this node leads)' : ''}`,
    ...status.addresses.map((a) => `  ${a}`),
    ...(status.warning === undefined ? [] : [`warning: ${status.warning}`]),
    ...(status.resigned === undefined ? [] : [`this node resigned the lead: ${status.resigned}`]),
    '',
    ...tableLines(header, rows),
    ...alertLines(status),
    '',
  ].join('\n')
}

/** The leader's active alerts, which its /status carries (other nodes: `distributex top` or GET /alerts). */
function alertLines(status: StatusDocument): string[] {
  const alerts = status.analytics?.alerts
  if (alerts === undefined) return []
  if (alerts.length === 0) return ['', 'alerts: none']
  return ['', `alerts: ${alerts.length}`, ...alerts.map((a) => `  ${a.severity === 'critical' ? '!!' : '! '} ${a.name}${a.node === null ? '' : ` (${a.node})`}: ${a.message}`)]
}
