/**
 * The cluster's alerts as any node serves them (GET /alerts, GET /alerts/events). The leader
 * evaluates them; a node that leads reads its own analytics, any other asks the leader (the job
 * client's forecast ask, which follows whoever leads), so every peer shows the same alerts.
 *
 * The events stream merges two sources: the local analytics' transitions as they happen (while this
 * node leads) and, once a second, the leader's latest transitions; one seen-set drops the repeats,
 * so a stream keeps going across a change of leader (the new leader's alerts start afresh).
 */
import type { TimerHandle, Timers } from '../env/types.js'
import type { ClusterAnalytics, LoadForecast } from '../predict/analytics.js'
import type { Alert, AlertTransition } from '../predict/alerts.js'

/** Transitions asked of the leader each time (its analytics keeps 200). */
const HISTORY_ASKED = 200
/** How often a stream asks the leader for new transitions. */
export const ALERTS_POLL_MS = 1000
/** Transition identities a stream remembers to drop repeats. */
const MAX_SEEN = 2000
/** A comment line that keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000

export interface ClusterAlertsDeps {
  readonly analytics: ClusterAnalytics
  /** True while this node leads (its analytics is the cluster's). */
  readonly leading: () => boolean
  readonly leader: () => string | null
  /** The leader's forecast with its latest `history` transitions (JobClient.forecast). */
  readonly ask: (history: number, signal: AbortSignal) => Promise<LoadForecast | null>
  readonly timers: Timers
}

/** What GET /alerts answers. `source`: `self` (this node leads), `leader` (asked of it), or `none` (no leader answered; the lists are empty). */
export interface AlertsDocument {
  readonly leader: string | null
  readonly source: 'self' | 'leader' | 'none'
  readonly alerts: readonly Alert[]
  readonly history: readonly AlertTransition[]
}

export class ClusterAlerts {
  constructor(private readonly deps: ClusterAlertsDeps) {}

  async snapshot(signal: AbortSignal): Promise<AlertsDocument> {
    const leader = this.deps.leader()
    if (this.deps.leading()) return { leader, source: 'self', alerts: this.deps.analytics.alerts(), history: this.deps.analytics.history() }
    try {
      const f = await this.deps.ask(HISTORY_ASKED, signal)
      if (f !== null) return { leader, source: 'leader', alerts: f.alerts, history: f.history ?? [] }
    } catch (error) {
      if (signal.aborted) throw error
    }
    return { leader, source: 'none', alerts: [], history: [] }
  }

  /** Server-sent events: one `alerts` event with those firing now, then `fired` and `resolved` as they happen. */
  async *events(gone: AbortSignal): AsyncGenerator<string> {
    const pending: string[] = []
    const seen = new Set<string>()
    const note = (t: AlertTransition): void => {
      const id = `${t.kind}\u0000${t.alert.key}\u0000${t.at}`
      if (seen.has(id)) return
      seen.add(id)
      if (seen.size > MAX_SEEN) seen.delete(seen.values().next().value!)
      pending.push(sseEvent(t.kind, { ...t.alert, at: t.at }))
    }
    let wake: (() => void) | undefined
    const unsubscribe = this.deps.analytics.onAlert((t) => {
      note(t)
      wake?.()
    })
    const stop = (): void => wake?.()
    gone.addEventListener('abort', stop)
    const first = await this.snapshot(gone).catch(() => undefined)
    for (const t of first?.history ?? []) seen.add(`${t.kind}\u0000${t.alert.key}\u0000${t.at}`)
    pending.unshift(sseEvent('alerts', first?.alerts ?? []))
    const { timers } = this.deps
    // Another leader's transitions, once a second while this node does not lead.
    const pollLeader = (): void => {
      if (this.deps.leading()) {
        poll = timers.schedule(ALERTS_POLL_MS, pollLeader)
        return
      }
      this.snapshot(gone)
        .then((doc) => {
          for (const t of doc.history) note(t)
          wake?.()
        })
        .catch(() => undefined)
        .finally(() => {
          if (!gone.aborted) poll = timers.schedule(ALERTS_POLL_MS, pollLeader)
        })
    }
    let poll: TimerHandle = timers.schedule(ALERTS_POLL_MS, pollLeader)
    const beat = (): void => {
      pending.push(': keepalive\n\n')
      wake?.()
      keepalive = timers.schedule(KEEPALIVE_MS, beat)
    }
    let keepalive = timers.schedule(KEEPALIVE_MS, beat)
    try {
      while (!gone.aborted) {
        while (pending.length > 0) yield pending.shift()!
        await new Promise<void>((resolve) => (wake = resolve))
        wake = undefined
      }
    } finally {
      unsubscribe()
      gone.removeEventListener('abort', stop)
      timers.cancel(poll)
      timers.cancel(keepalive)
    }
  }
}

function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}
