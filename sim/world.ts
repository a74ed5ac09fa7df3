/**
 * The simulated world: the kernel, the network, the services, and N node slots whose incarnations
 * run real runtime code built by a scenario. A node's disk and clock survive its crashes; everything
 * else of an incarnation (its objects, timers, deliveries, subscriptions) dies with it.
 */
import { SeededRandom } from '../src/env/prng.js'
import type { Environment } from '../src/env/types.js'
import type { Network } from '../src/net/types.js'
import type { DurableStore, JobLogFactory, ReplicaLogOpener, ResultCache } from '../src/storage/types.js'
import { EventKind, Kernel, type Owner } from './kernel/loop.js'
import { ClockSkew, LogRing, simEnvironment } from './kernel/node-env.js'
import { SimEndpoint, SimNetwork } from './net/network.js'
import { CACHE_POSITION, SimCacheService } from './services/cache.js'
import { SimDisk } from './services/disk.js'
import { JOB_LOG_POSITION, SimJobLogService } from './services/job-log.js'

/** What a scenario gets to build one node incarnation. */
export interface NodeContext {
  readonly id: string
  readonly index: number
  readonly incarnation: number
  readonly env: Environment
  readonly network: Network
  readonly store: DurableStore
  readonly jobLog: JobLogFactory
  readonly cache: ResultCache
  /** The node's own durable copy of the replicated job log; survives crashes like `store`. */
  readonly replicaLog: ReplicaLogOpener
  /** Every node id of the cluster, as a static bootstrap list. */
  readonly nodeIds: readonly string[]
}

/** One node slot. */
export interface SimNode<App> {
  readonly id: string
  readonly index: number
  readonly owner: Owner
  readonly disk: SimDisk
  readonly skew: ClockSkew
  /** The live incarnation's application, undefined while crashed. */
  app: App | undefined
  endpoint: SimEndpoint | undefined
}

/** A violated invariant. */
export interface Violation {
  readonly invariant: string
  readonly message: string
  readonly atMs: number
  readonly event: number
}

/** Builds the application of one node incarnation from its context. */
export type BootFn<App> = (ctx: NodeContext, world: World<App>) => App

export class World<App> {
  readonly kernel = new Kernel()
  readonly network: SimNetwork
  readonly jobLog: SimJobLogService
  readonly cache: SimCacheService
  readonly nodes: Array<SimNode<App>>
  readonly ring: LogRing
  /** The workload's own random stream, independent of faults and of the network. */
  readonly workload: SeededRandom
  readonly violations: Violation[] = []
  private readonly root: SeededRandom

  constructor(
    seed: number,
    nodeCount: number,
    private readonly boot: BootFn<App>,
    verbose = false,
  ) {
    this.root = new SeededRandom(seed)
    this.workload = this.root.fork('workload')
    this.ring = new LogRing(this.kernel, 200, verbose)
    this.network = new SimNetwork(this.kernel, this.root.fork('net'))
    this.nodes = []
    for (let i = 0; i < nodeCount; i++) {
      const id = `n${i}`
      const owner: Owner = { index: i, incarnation: 0, status: 'crashed', held: [] }
      this.nodes.push({ id, index: i, owner, disk: new SimDisk(this.kernel, this.root.fork(`disk/${id}`)), skew: new ClockSkew(), app: undefined, endpoint: undefined })
      this.network.addPosition(id, owner)
    }
    this.network.addPosition(JOB_LOG_POSITION)
    this.network.addPosition(CACHE_POSITION)
    this.jobLog = new SimJobLogService(this.network, this.root.fork('job-log'))
    this.cache = new SimCacheService(this.network)
  }

  /** Virtual time in milliseconds. */
  get nowMs(): number {
    return this.kernel.now / 1000
  }

  /** Node ids in order. */
  get nodeIds(): string[] {
    return this.nodes.map((n) => n.id)
  }

  /** Service position names. */
  get services(): string[] {
    return [JOB_LOG_POSITION, CACHE_POSITION]
  }

  node(id: string): SimNode<App> {
    const node = this.nodes.find((n) => n.id === id)
    if (node === undefined) throw new RangeError(`no node ${id}`)
    return node
  }

  /** Runs `fn` at virtual time `atMs` as a harness event (workload, faults, checks). */
  at(atMs: number, fn: () => void, kind: number = EventKind.Workload): void {
    this.kernel.schedule(atMs * 1000, kind, fn)
  }

  /** Starts a node's next incarnation, as an event owned by that incarnation. */
  start(node: SimNode<App>): void {
    if (node.owner.status !== 'crashed') return
    node.owner.status = 'up'
    this.kernel.schedule(this.kernel.now, EventKind.Fault, () => this.bootNow(node), node.owner)
  }

  /** Kills a node's incarnation: volatile state, timers and deliveries are gone; its disk stays. */
  crash(node: SimNode<App>): void {
    if (node.owner.status === 'crashed') return
    node.owner.status = 'crashed'
    node.owner.incarnation++
    node.owner.held = []
    node.app = undefined
    node.endpoint = undefined
    this.network.detach(node.id)
    this.log(node.id, 'crashed')
  }

  /** Stalls a node for `forMs`: its events wait and run when it resumes. */
  pause(node: SimNode<App>, forMs: number): void {
    if (node.owner.status !== 'up') return
    node.owner.status = 'paused'
    const incarnation = node.owner.incarnation
    this.log(node.id, `paused for ${forMs} ms`)
    this.at(
      this.nowMs + forMs,
      () => {
        if (node.owner.status !== 'paused' || node.owner.incarnation !== incarnation) return
        node.owner.status = 'up'
        this.kernel.release(node.owner)
      },
      EventKind.Fault,
    )
  }

  /** Resumes a paused node at once (used by the final heal). */
  resume(node: SimNode<App>): void {
    if (node.owner.status !== 'paused') return
    node.owner.status = 'up'
    this.kernel.release(node.owner)
  }

  /** Records an invariant violation; the run stops after the current event. */
  violate(invariant: string, message: string): void {
    this.violations.push({ invariant, message, atMs: this.nowMs, event: this.kernel.eventsRun })
  }

  /** Adds a harness line to the run's log ring. */
  log(node: string, message: string): void {
    this.ring.push(node, 'sim', message, undefined)
  }

  private bootNow(node: SimNode<App>): void {
    const incarnation = node.owner.incarnation
    const endpoint = this.network.attach(node.id)
    node.endpoint = endpoint
    const env = simEnvironment(this.kernel, node.owner, node.id, node.skew, this.root.fork(`node/${node.id}/${incarnation}`), this.ring)
    const ctx: NodeContext = {
      id: node.id,
      index: node.index,
      incarnation,
      env,
      network: endpoint,
      store: node.disk.store(node.owner),
      jobLog: this.jobLog.factory(node.id, node.owner),
      cache: this.cache.client(node.id, node.owner),
      replicaLog: node.disk.replica.opener(node.owner),
      nodeIds: this.nodeIds,
    }
    this.log(node.id, `booting incarnation ${incarnation}`)
    node.app = this.boot(ctx, this)
  }
}
