/**
 * Remembers the peers worth reconnecting to and redials them with exponential backoff and jitter
 * when their channel is lost. Time and jitter come from the environment, so the schedule is exact
 * under manual time.
 *
 * Bootstrap peers are pinned: redialed forever, never forgotten (one refused `maxRefused` times in a
 * row while another peer is connected, only every `maxMs`). Other peers are remembered once a
 * channel to them opened, and forgotten after `maxAttempts` failed redials in a row, after
 * `maxRefused` in a row that were refused (nothing listens at the address: the process is gone,
 * not cut off), or when the table is full (oldest first). Invariants: at most one timer or attempt
 * per peer; nothing runs after `stop()`; a channel that stayed open for `stableMs` forgives earlier
 * failures.
 */
import type { Environment, TimerHandle } from '../../env/types.js'
import { backoffDelayMs, type Backoff } from '../../util/backoff.js'

/** The redial schedule. */
export interface RedialPolicy extends Backoff {
  /** Failed redials in a row after which an unpinned peer is forgotten. */
  readonly maxAttempts: number
  /**
   * Refused redials in a row after which an unpinned peer is forgotten (above maxAttempts it changes
   * nothing). A node whose membership layer dials the members it needs sets it low: when a peer is
   * killed, every other node's transport redialed it 10 times over two minutes, each failed dial
   * 2-3 ms of CPU on a slow host (src/node/start.ts).
   */
  readonly maxRefused: number
  /** Channel lifetime after which a peer's failure count resets. */
  readonly stableMs: number
  /** Peers remembered at most. */
  readonly maxKnownPeers: number
  /**
   * Longest wait between redials of a bootstrap peer while no remembered peer is connected: a node
   * alone has no other way in, and a bootstrap peer swamped by a crowd of joiners times their dials
   * out at first; backing off to `maxMs` would then leave them alone for most of it.
   */
  readonly aloneMaxMs: number
}

/** Connects to `peer` (through `target`) and resolves once its channel is open; rejects when this attempt failed. */
export type RedialAttempt<T> = (peer: string, target: T, signal: AbortSignal) => Promise<void>

/** Whether a failed attempt was refused: nothing listened at the address. */
export type Refused = (error: unknown) => boolean

interface KnownPeer<T> {
  target: T
  pinned: boolean
  failures: number
  /** Of those, refused in a row. */
  refusals: number
  connected: boolean
  /** Set once a channel has been lost, so the next open counts as a reconnect. */
  lost: boolean
  openedAtMs: number
  timer: TimerHandle | undefined
  attempting: boolean
}

export class Redialer<T> {
  /** Insertion order is age, for eviction. */
  private readonly known = new Map<string, KnownPeer<T>>()
  private readonly controller = new AbortController()

  constructor(
    private readonly env: Environment,
    private readonly policy: RedialPolicy,
    private readonly attempt: RedialAttempt<T>,
    private readonly refused: Refused = () => false,
  ) {}

  /** Number of remembered peers. */
  get size(): number {
    return this.known.size
  }

  /** True when `peer` is remembered. */
  has(peer: string): boolean {
    return this.known.has(peer)
  }

  /** Remembers a peer and how to reach it; pinning is sticky. Returns false when the table is full. */
  remember(peer: string, target: T, pinned: boolean): boolean {
    const entry = this.known.get(peer)
    if (entry !== undefined) {
      // A bootstrap address outlives whatever a later connection taught us.
      if (pinned || !entry.pinned) entry.target = target
      entry.pinned ||= pinned
      return true
    }
    if (this.known.size >= this.policy.maxKnownPeers && !this.evictOne()) return false
    this.known.set(peer, { target, pinned, failures: 0, refusals: 0, connected: false, lost: false, openedAtMs: 0, timer: undefined, attempting: false })
    return true
  }

  /** Dials a remembered peer as soon as possible (used for bootstrap peers at start). */
  dialSoon(peer: string): void {
    const entry = this.known.get(peer)
    if (entry !== undefined && !entry.connected) this.schedule(peer, entry, 0)
  }

  /** Records that a channel to `peer` opened; returns true when it replaces one that was lost. */
  opened(peer: string): boolean {
    const entry = this.known.get(peer)
    if (entry === undefined) return false
    this.cancelTimer(entry)
    const reconnect = entry.lost
    entry.connected = true
    entry.lost = false
    entry.openedAtMs = this.env.clock.monotonicMs()
    return reconnect
  }

  /** Records that the channel to `peer` closed and schedules a redial. */
  closed(peer: string): void {
    const entry = this.known.get(peer)
    if (entry === undefined || this.controller.signal.aborted) return
    entry.connected = false
    entry.lost = true
    if (this.env.clock.monotonicMs() - entry.openedAtMs >= this.policy.stableMs) entry.failures = 0
    entry.refusals = 0
    this.schedule(peer, entry, this.delayMs(entry))
  }

  /** The channel to `peer` closed by choice (a BYE, either way): a bootstrap peer is redialed as after `closed`, any other forgotten. */
  parted(peer: string): void {
    const entry = this.known.get(peer)
    if (entry === undefined) return
    if (entry.pinned) {
      this.closed(peer)
      return
    }
    this.cancelTimer(entry)
    this.known.delete(peer)
  }

  /** Cancels every timer and aborts attempts in progress. */
  stop(): void {
    this.controller.abort()
    for (const entry of this.known.values()) this.cancelTimer(entry)
  }

  private schedule(peer: string, entry: KnownPeer<T>, delayMs: number): void {
    if (entry.timer !== undefined || entry.attempting || this.controller.signal.aborted) return
    entry.timer = this.env.timers.schedule(delayMs, () => {
      entry.timer = undefined
      this.run(peer, entry)
    })
  }

  private run(peer: string, entry: KnownPeer<T>): void {
    if (entry.connected || this.known.get(peer) !== entry) return
    entry.attempting = true
    void this.attempt(peer, entry.target, this.controller.signal).then(
      () => {
        entry.attempting = false
      },
      (error: unknown) => {
        entry.attempting = false
        this.failed(peer, entry, this.refused(error))
      },
    )
  }

  private failed(peer: string, entry: KnownPeer<T>, refused: boolean): void {
    if (entry.connected || this.controller.signal.aborted || this.known.get(peer) !== entry) return
    entry.failures++
    entry.refusals = refused ? entry.refusals + 1 : 0
    if (!entry.pinned && (entry.failures >= this.policy.maxAttempts || entry.refusals >= this.policy.maxRefused)) {
      this.known.delete(peer)
      return
    }
    this.schedule(peer, entry, this.delayMs(entry))
  }

  /**
   * The backoff before the next redial; for a bootstrap peer of a node alone, at most about
   * aloneMaxMs; for one whose process is gone (refused maxRefused times in a row) while this node
   * has another peer, about maxMs: the survivors of a killed founder, which all had it as their
   * bootstrap peer, redialed it 5 times in its first 6 s.
   */
  private delayMs(entry: KnownPeer<T>): number {
    if (entry.pinned && entry.refusals >= this.policy.maxRefused && this.anyConnected()) return backoffDelayMs({ ...this.policy, minMs: this.policy.maxMs }, 1, this.env.random)
    const delayMs = backoffDelayMs(this.policy, entry.failures + 1, this.env.random)
    if (!entry.pinned || delayMs <= this.policy.aloneMaxMs || this.anyConnected()) return delayMs
    return backoffDelayMs({ ...this.policy, minMs: this.policy.aloneMaxMs, maxMs: this.policy.aloneMaxMs }, 1, this.env.random)
  }

  private anyConnected(): boolean {
    for (const entry of this.known.values()) if (entry.connected) return true
    return false
  }

  private evictOne(): boolean {
    for (const [peer, entry] of this.known) {
      if (entry.pinned || entry.connected) continue
      this.cancelTimer(entry)
      this.known.delete(peer)
      return true
    }
    return false
  }

  private cancelTimer(entry: KnownPeer<T>): void {
    if (entry.timer === undefined) return
    this.env.timers.cancel(entry.timer)
    entry.timer = undefined
  }
}
