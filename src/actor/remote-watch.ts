/**
 * Watches across nodes: which local actors watch actors on other nodes (the watcher side), and
 * which local actors other nodes watch (the target side). Bookkeeping only: the actor system
 * sends and delivers what these tables decide.
 *
 * Protocol (over the node's remote transport, see protocols/envelope/codec.ts):
 * - a local watcher of a remote target sends `watch(target, watcher)` to the target's node; the
 *   target's node remembers it and, when the target terminates, sends `terminated` back with the
 *   reason (or `not-found` at once if there is no such actor); `unwatch` forgets it;
 * - when the connection to a node closes, every local watch of its actors ends with `unreachable`
 *   (the target may still live: the watcher cannot tell, so it hears the one thing it knows), and
 *   the watches that node held here are dropped: it will watch again if it still cares.
 *
 * Invariants: a watcher hears at most one Terminated per watch (the entry goes before delivery);
 * a node holds at most `maxPerNode` watches here, so a peer cannot grow this node's memory without
 * bound; a `terminated` counts only from the node that hosts the target (the caller passes the
 * authenticated sender).
 */
import { assert } from '../assert.js'
import type { Message, Terminated } from './types.js'

type NodeId = string
/** Maps a Terminated to the watcher's own message type. */
export type WatchMapper = (terminated: Terminated) => Message

/** A watch message between nodes, as the actor system hands it to its transport. */
export type WatchControl =
  | { readonly kind: 'watch' | 'unwatch'; readonly target: string; readonly watcher: string }
  | { readonly kind: 'terminated'; readonly target: string; readonly watcher: string; readonly reason: 'stopped' | 'failed' | 'not-found'; readonly error: Error | undefined }

/** Watches other nodes may hold on this node's actors, per node. */
export const MAX_REMOTE_WATCHES_PER_NODE = 100_000

/** One local watcher: something that can take a Terminated (an actor cell). */
export interface RemoteWatcher {
  readonly address: { readonly node: string; readonly path: string }
}

export class RemoteWatches<W extends RemoteWatcher> {
  /** Watcher side: node -> target path -> local watchers and their mappers. */
  private readonly outbound = new Map<NodeId, Map<string, Map<W, WatchMapper>>>()
  /** Watcher side, by watcher: the targets it watches (node and path), so a stopping watcher finds them at once. */
  private readonly byWatcher = new Map<W, Array<{ node: NodeId; path: string }>>()
  /** Target side: target path -> node -> watcher paths on that node. */
  private readonly inbound = new Map<string, Map<NodeId, Set<string>>>()
  /** Target side: how many watches each node holds here. */
  private readonly inboundCount = new Map<NodeId, number>()

  constructor(private readonly maxPerNode: number = MAX_REMOTE_WATCHES_PER_NODE) {}

  /** Records that `watcher` watches `path` on `node`; false if it already did (nothing to send). */
  addOutbound(watcher: W, node: NodeId, path: string, toMessage: WatchMapper): boolean {
    let byPath = this.outbound.get(node)
    if (byPath === undefined) this.outbound.set(node, (byPath = new Map()))
    let watchers = byPath.get(path)
    if (watchers === undefined) byPath.set(path, (watchers = new Map()))
    const fresh = !watchers.has(watcher)
    watchers.set(watcher, toMessage)
    if (fresh) {
      const targets = this.byWatcher.get(watcher)
      if (targets === undefined) this.byWatcher.set(watcher, [{ node, path }])
      else targets.push({ node, path })
    }
    return fresh
  }

  /** Forgets a watch; its mapper, if it was there. */
  removeOutbound(watcher: W, node: NodeId, path: string): WatchMapper | undefined {
    const byPath = this.outbound.get(node)
    const watchers = byPath?.get(path)
    const mapper = watchers?.get(watcher)
    if (mapper === undefined) return undefined
    watchers!.delete(watcher)
    if (watchers!.size === 0) byPath!.delete(path)
    if (byPath!.size === 0) this.outbound.delete(node)
    this.forget(watcher, node, path)
    return mapper
  }

  private forget(watcher: W, node: NodeId, path: string): void {
    const targets = this.byWatcher.get(watcher)
    const at = targets?.findIndex((t) => t.node === node && t.path === path) ?? -1
    assert(at >= 0, 'a remote watch missing from its watcher index')
    targets!.splice(at, 1)
    if (targets!.length === 0) this.byWatcher.delete(watcher)
  }

  /** The watch of `path` on `node` by the local actor at `watcherPath` ended: who to tell, once. */
  endOutbound(node: NodeId, path: string, watcherPath: string): { watcher: W; toMessage: WatchMapper } | undefined {
    const watchers = this.outbound.get(node)?.get(path)
    if (watchers === undefined) return undefined
    for (const watcher of watchers.keys()) {
      if (watcher.address.path !== watcherPath) continue
      const toMessage = this.removeOutbound(watcher, node, path)!
      return { watcher, toMessage }
    }
    return undefined
  }

  /** Whether a watch crosses to `node` either way: closing the connection would end it. */
  involves(node: NodeId): boolean {
    return this.outbound.has(node) || (this.inboundCount.get(node) ?? 0) > 0
  }

  /** Every local watch of actors on `node`, removed: their watchers hear `unreachable`. */
  takeNode(node: NodeId): Array<{ watcher: W; path: string; toMessage: WatchMapper }> {
    const byPath = this.outbound.get(node)
    this.outbound.delete(node)
    this.dropInboundOf(node)
    if (byPath === undefined) return []
    const out: Array<{ watcher: W; path: string; toMessage: WatchMapper }> = []
    for (const [path, watchers] of byPath) {
      for (const [watcher, toMessage] of watchers) {
        this.forget(watcher, node, path)
        out.push({ watcher, path, toMessage })
      }
    }
    return out
  }

  /** The targets on other nodes `watcher` watches (to unwatch them when it stops). */
  watchedBy(watcher: W): Array<{ node: NodeId; path: string }> {
    return [...(this.byWatcher.get(watcher) ?? [])]
  }

  /** `node` watches the local actor at `path` from `watcherPath`; false when it holds too many already. */
  addInbound(node: NodeId, path: string, watcherPath: string): boolean {
    let byNode = this.inbound.get(path)
    const known = byNode?.get(node)?.has(watcherPath) === true
    if (known) return true
    const count = this.inboundCount.get(node) ?? 0
    if (count >= this.maxPerNode) return false
    if (byNode === undefined) this.inbound.set(path, (byNode = new Map()))
    let paths = byNode.get(node)
    if (paths === undefined) byNode.set(node, (paths = new Set()))
    paths.add(watcherPath)
    this.inboundCount.set(node, count + 1)
    return true
  }

  removeInbound(node: NodeId, path: string, watcherPath: string): void {
    const byNode = this.inbound.get(path)
    const paths = byNode?.get(node)
    if (paths === undefined || !paths.delete(watcherPath)) return
    if (paths.size === 0) byNode!.delete(node)
    if (byNode!.size === 0) this.inbound.delete(path)
    const count = this.inboundCount.get(node)! - 1
    assert(count >= 0, 'remote watch count went negative')
    if (count === 0) this.inboundCount.delete(node)
    else this.inboundCount.set(node, count)
  }

  /** The local actor at `path` terminated: the remote watchers to tell, removed. */
  takeInbound(path: string): Array<{ node: NodeId; watcherPath: string }> {
    const byNode = this.inbound.get(path)
    if (byNode === undefined) return []
    const out: Array<{ node: NodeId; watcherPath: string }> = []
    for (const [node, paths] of byNode) for (const watcherPath of paths) out.push({ node, watcherPath })
    for (const { node, watcherPath } of out) this.removeInbound(node, path, watcherPath)
    return out
  }

  /** Watches held here by other nodes. */
  inboundTotal(): number {
    let n = 0
    for (const count of this.inboundCount.values()) n += count
    return n
  }

  private dropInboundOf(node: NodeId): void {
    if (!this.inboundCount.has(node)) return
    for (const [path, byNode] of [...this.inbound]) {
      const paths = byNode.get(node)
      if (paths === undefined) continue
      for (const watcherPath of [...paths]) this.removeInbound(node, path, watcherPath)
    }
    assert(!this.inboundCount.has(node), 'watches of a node left behind')
  }
}
