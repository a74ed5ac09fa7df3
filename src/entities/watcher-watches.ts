/**
 * The watcher side of watches of entity refs (sans-I/O): the watches this node's actors hold, by id,
 * and which owner node answered each. The driver (actors/entities.ts) routes a watch to the key's
 * owner as an item of its shard's route (so it reaches the activation this node's earlier messages
 * reached); the owner answers with its id, or null when the key has no activation (not-found), and
 * later reports the activation's end ('ended'). Watches of an owner whose connection closed, or that
 * the cluster declared down, end with failed-over (the next message reaches the key on a live peer);
 * every WATCH_CHECK_MS the driver asks each other owner which watches it still holds, since an
 * 'ended' may be lost (a tell is at most once) or an owner may restart under the same id.
 *
 * Invariants (asserted): at most one watch per (target, watcher) pair; the per-owner counts equal
 * the answered, unended watches of each owner (never negative); a watch ends once, and a watcher
 * hears its end (`ended` effect) unless it unwatched first.
 */
import { assert } from '../assert.js'
import type { ReplyTarget } from '../actor/reply.js'
import type { TerminationReason } from '../actor/types.js'
import { AskTimeoutError, NodeUnreachableError } from '../errors.js'
import type { NodeId } from '../net/types.js'
import { WATCH_IDS_MAX } from './wire.js'

/**
 * How often a watcher node asks each owner which of its watches it still holds: an 'ended' lost on
 * the way (a tell is at most once) or an owner restarted under the same id would leave a watch open.
 */
export const WATCH_CHECK_MS = 2000

/** A watch of an entity held by an actor of this node. */
export interface WatchRecord {
  readonly id: number
  readonly path: string
  readonly watcher: string
  /** The node whose activation the watch reached; undefined until it answered. */
  owner: NodeId | undefined
  /** Unwatched before the owner answered: forgotten once it does. */
  cancelled: boolean
  readonly deadlineMs: number
  readonly reply: ReplyTarget & { settled: boolean }
}

/** What the watcher side asks its driver to do. */
export interface WatcherEffects {
  /** The watch of `path` by the local actor `watcher` ended. */
  ended(path: string, watcher: string, reason: TerminationReason, error: Error | undefined): void
  /** Tells `owner` to drop these watches (this node no longer holds them). */
  forget(owner: NodeId, ids: number[]): void
}

const pairOf = (path: string, watcher: string): string => `${path} ${watcher}`

export class WatcherWatches {
  private readonly byId = new Map<number, WatchRecord>()
  private readonly idOfPair = new Map<string, number>()
  /** How many answered watches each owner holds (so a check asks only those owners). */
  private readonly perOwner = new Map<NodeId, number>()
  private nextCheckMs = 0

  constructor(
    private readonly self: NodeId,
    private readonly effects: WatcherEffects,
    /** How long a watch waits for its owner's answer. */
    private readonly answerTimeoutMs: number,
  ) {}

  /** True when `watcher` already watches `path`. */
  has(path: string, watcher: string): boolean {
    return this.idOfPair.has(pairOf(path, watcher))
  }

  /** True when some owner answered a watch still open. */
  get anyOwner(): boolean {
    return this.perOwner.size > 0
  }

  holdsOwner(node: NodeId): boolean {
    return this.perOwner.has(node)
  }

  /** A new watch, sent to its owner with `reply` taking the answer. */
  start(id: number, path: string, watcher: string, deadlineMs: number, reply: WatchRecord['reply']): void {
    assert(!this.has(path, watcher) && !this.byId.has(id), 'a second watch of one entity by one watcher')
    this.byId.set(id, { id, path, watcher, owner: undefined, cancelled: false, deadlineMs, reply })
    this.idOfPair.set(pairOf(path, watcher), id)
  }

  /** `watcher` unwatched `path`: an answered watch ends now (and its owner forgets it), one in flight once answered. */
  stop(path: string, watcher: string): void {
    const pair = pairOf(path, watcher)
    const id = this.idOfPair.get(pair)
    if (id === undefined) return
    this.idOfPair.delete(pair)
    const record = this.byId.get(id)!
    record.cancelled = true
    if (record.owner === undefined) return
    this.end(record, 'stopped', undefined)
    this.effects.forget(record.owner, [id])
  }

  /** The owner answered watch `id`: with its id, undefined (no activation), or an error. */
  answered(id: number, owner: NodeId | undefined, error: Error | undefined, connected: (node: NodeId) => boolean): void {
    const record = this.byId.get(id)
    if (record === undefined) return
    if (record.cancelled) {
      this.byId.delete(id)
      if (owner !== undefined) this.effects.forget(owner, [id])
      return
    }
    if (error !== undefined) this.end(record, error instanceof NodeUnreachableError && !error.unsent ? 'failed-over' : 'unreachable', undefined)
    else if (owner === undefined) this.end(record, 'not-found', undefined)
    // Its connection may have closed before this answer was handled: no 'ended' would follow.
    else if (owner !== this.self && !connected(owner)) this.end(record, 'failed-over', undefined)
    else {
      record.owner = owner
      this.perOwner.set(owner, (this.perOwner.get(owner) ?? 0) + 1)
    }
  }

  /** Fails the watches whose owner has not answered by their deadline. */
  expire(nowMs: number): void {
    for (const record of this.byId.values())
      if (record.owner === undefined && !record.reply.settled && nowMs > record.deadlineMs) record.reply.reject(new AskTimeoutError(record.path, this.answerTimeoutMs))
  }

  /** Ends with failed-over every watch whose owner is gone: its connection closed, or the cluster declared it down. */
  ownerGone(node: NodeId): void {
    if (!this.perOwner.has(node)) return
    for (const record of [...this.byId.values()]) if (record.owner === node) this.end(record, 'failed-over', undefined)
  }

  /**
   * Every WATCH_CHECK_MS while some owner answered a watch (the caller checks `anyOwner` first): per
   * other owner, the ids of this node's watches to ask it about (at most WATCH_IDS_MAX each).
   */
  due(nowMs: number): Map<NodeId, number[]> | undefined {
    if (nowMs < this.nextCheckMs) return undefined
    this.nextCheckMs = nowMs + WATCH_CHECK_MS
    const byOwner = new Map<NodeId, number[]>()
    for (const record of this.byId.values()) {
      if (record.owner === undefined || record.owner === this.self || record.cancelled) continue
      let ids = byOwner.get(record.owner)
      if (ids === undefined) byOwner.set(record.owner, (ids = []))
      if (ids.length < WATCH_IDS_MAX) ids.push(record.id)
    }
    return byOwner
  }

  /** `from` reports that the activations behind `ids` ended (only the node a watch reached may end it; one not answered yet may be any). */
  endedBy(from: NodeId, ids: readonly number[], reason: TerminationReason, error: Error | undefined): void {
    for (const id of ids) {
      const record = this.byId.get(id)
      if (record === undefined || (record.owner !== undefined && record.owner !== from)) continue
      this.end(record, reason, error)
    }
  }

  /** `owner` no longer holds `ids`: their 'ended' was lost. */
  lost(owner: NodeId, ids: readonly number[]): void {
    for (const id of ids) {
      const record = this.byId.get(id)
      if (record?.owner === owner) this.end(record, 'failed-over', undefined)
    }
  }

  private end(record: WatchRecord, reason: TerminationReason, error: Error | undefined): void {
    const deleted = this.byId.delete(record.id)
    assert(deleted, 'an entity watch ended twice')
    if (record.owner !== undefined) {
      const left = this.perOwner.get(record.owner)! - 1
      assert(left >= 0, 'entity watches per owner went negative')
      if (left === 0) this.perOwner.delete(record.owner)
      else this.perOwner.set(record.owner, left)
    }
    const pair = pairOf(record.path, record.watcher)
    if (this.idOfPair.get(pair) === record.id) this.idOfPair.delete(pair)
    if (!record.cancelled) this.effects.ended(record.path, record.watcher, reason, error)
  }
}
