/**
 * The cluster actor's SWIM side, sans-I/O: when to join (a founder at once, any other node once it
 * has a peer), this node's load figures every probe period (a new version only when one moved past
 * its deadband, `loadMoved`), decoding what arrives and encoding what SWIM wants sent, and the
 * counts behind the dx_swim_* metrics. The actor feeds it the mailbox's SWIM messages, ticks and
 * peers met, sends the payloads each call returns, and logs what it flags. Before joining,
 * everything but ticks is ignored.
 */
import { ProtocolError } from '../../protocols/errors.js'
import { decodeSwim, encodeSwim } from '../../protocols/swim/codec.js'
import type { SwimMessage } from '../../protocols/swim/types.js'
import type { Histogram } from '../env/types.js'
import type { NodeId } from '../net/types.js'
import type { SwimCore, SwimEvent } from './swim/core.js'
import { loadMoved, loadValues } from './swim/load.js'
import type { NodeMetrics } from './types.js'

/** SWIM message types, so that the message counters report zeros too. */
export const SWIM_TYPES = ['ping', 'ping-req', 'ack', 'nack', 'sync', 'digest', 'live'] as const

/** SWIM membership events, counted by type. */
export const SWIM_EVENTS = ['joined', 'alive', 'suspect', 'dead', 'left'] as const

/** What the dx_swim_* metrics report (all zero with membership 'gossip'). */
export class SwimStats {
  readonly sent = new Map<string, number>(SWIM_TYPES.map((t) => [t, 0]))
  readonly received = new Map<string, number>(SWIM_TYPES.map((t) => [t, 0]))
  readonly events = new Map<string, number>(SWIM_EVENTS.map((t) => [t, 0]))
  readonly bytes = { sent: 0, received: 0 }
  invalid = 0
  refused = 0
  /** dx_swim_convergence_seconds: how old each change gossip brought was when it changed this node's view (SwimEvent.ageMs). */
  convergence: Histogram | undefined
}

/** What one call produced: payloads to send, messages too large to send, events worth a log line. */
export interface SwimOut {
  readonly send: Array<{ readonly to: NodeId; readonly payload: Uint8Array }>
  readonly oversize: Array<{ readonly type: SwimMessage['type']; readonly error: ProtocolError }>
  /** Members that died or left. */
  readonly departures: SwimEvent[]
}

const NOTHING: SwimOut = { send: [], oversize: [], departures: [] }

export interface SwimPumpInit {
  readonly swim: SwimCore
  readonly founder: boolean
  /** How often this node's load figures go to SWIM (its probe period). */
  readonly loadEveryMs: number
  readonly stats: SwimStats
}

export class SwimPump {
  private joined = false
  private loadAtMs = -Infinity

  constructor(private readonly init: SwimPumpInit) {}

  /** Decodes a message that arrived; undefined (and counted) if it is malformed. */
  decode(payload: Uint8Array): SwimMessage | undefined {
    const stats = this.init.stats
    let message: SwimMessage
    try {
      message = decodeSwim(payload)
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error
      stats.invalid++
      return undefined
    }
    stats.bytes.received += payload.length
    stats.received.set(message.type, (stats.received.get(message.type) ?? 0) + 1)
    return message
  }

  tick(nowMs: number, peers: () => readonly NodeId[], metrics: () => NodeMetrics): SwimOut {
    const s = this.init.swim
    if (!this.joined) {
      const seeds = peers()
      if (!this.init.founder && seeds.length === 0) return NOTHING
      s.join(seeds, nowMs)
      this.joined = true
    }
    if (nowMs - this.loadAtMs >= this.init.loadEveryMs) {
      this.loadAtMs = nowMs
      const values = loadValues(metrics())
      const held = s.load(s.self)
      if (held === undefined || loadMoved(held.values, values)) s.setLoad(values)
    }
    s.tick(nowMs)
    return this.flush()
  }

  /** When `tick` next has work (SWIM's next deadline, or fresh load figures); undefined before joining: it waits for a peer. */
  nextTickMs(): number | undefined {
    return this.joined ? pumpTickAt(this.init.swim.nextDeadlineMs(), this.loadAtMs + this.init.loadEveryMs, this.init.loadEveryMs) : undefined
  }

  receive(from: NodeId, message: SwimMessage, nowMs: number): SwimOut {
    if (!this.joined) return NOTHING
    this.init.swim.receive(from, message, nowMs)
    return this.flush()
  }

  /** A record of `from` arrived: liveness evidence for SWIM's probes of it (SwimCore.heard). */
  heard(from: NodeId, nowMs: number): void {
    if (this.joined) this.init.swim.heard(from, nowMs)
  }

  /** A new connection: if SWIM does not know that peer, the two exchange full state. */
  met(peer: NodeId): SwimOut {
    if (!this.joined) return NOTHING
    this.init.swim.meet(peer)
    return this.flush()
  }

  /** A connection closed: SWIM probes that peer out of turn (SwimCore.lost). */
  lost(peer: NodeId, nowMs: number): SwimOut {
    if (!this.joined) return NOTHING
    this.init.swim.lost(peer, nowMs)
    return this.flush()
  }

  leave(nowMs: number): void {
    if (this.joined) this.init.swim.leave(nowMs)
  }

  /** The network refused a payload `flush` returned (peer not connected, or its queue full). */
  refused(): void {
    this.init.stats.refused++
  }

  private flush(): SwimOut {
    const { sent, bytes, events } = this.init.stats
    const ready = this.init.swim.ready()
    const out: SwimOut = { send: [], oversize: [], departures: [] }
    for (const { to, message } of ready.messages) {
      let payload: Uint8Array
      try {
        payload = encodeSwim(message)
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error
        out.oversize.push({ type: message.type, error })
        continue
      }
      sent.set(message.type, (sent.get(message.type) ?? 0) + 1)
      bytes.sent += payload.length
      out.send.push({ to, payload })
    }
    for (const e of ready.events) {
      events.set(e.type, (events.get(e.type) ?? 0) + 1)
      if (e.ageMs !== undefined) this.init.stats.convergence?.observe(e.ageMs / 1000, { type: e.type })
      if (e.type === 'dead' || e.type === 'left') out.departures.push(e)
    }
    return out
  }
}

/**
 * The next tick for SWIM due at `swimDueMs` and load figures due at `loadDueMs`. Load figures wait
 * for a SWIM tick due within one load period after them rather than get a tick of their own: taken
 * at a probe's timeout tick, they fell due at the next one, and kept a tick 200 ms after every probe
 * although the probe had long been answered (two wake-ups a second of an idle worker). They are
 * late at most once by under a period; from then on they are taken at the probe ticks.
 */
export function pumpTickAt(swimDueMs: number, loadDueMs: number, loadEveryMs: number): number {
  return swimDueMs <= loadDueMs + loadEveryMs ? swimDueMs : loadDueMs
}
