/** A deterministic harness for ReplicationCore: in-memory durable logs, a message queue, manual control of delivery and of write completion. */
import { ReplicationCore } from '../../src/replication/core.js'
import type { Following, LocalOp, LogPosition, ReplicationOptions } from '../../src/replication/types.js'
import type { ReplicaEntry } from '../../src/storage/types.js'
import type { ReplicationMessage } from '../../protocols/replication/codec.js'
import { decodeReplication, encodeReplication } from '../../protocols/replication/codec.js'
import { appendIndexOf } from '../../protocols/replication/offsets.js'

/** A durable in-memory log. */
export class MemLog {
  start = 0
  prevEpoch = 0
  entries: ReplicaEntry[] = []
  get end(): number {
    return this.start + this.entries.length
  }
  epochAt(index: number): number | undefined {
    if (index === this.start - 1) return this.prevEpoch
    return this.entries[index - this.start]?.epoch
  }
  apply(op: LocalOp): void {
    switch (op.kind) {
      case 'write':
        if (op.from < this.start || op.from > this.end) throw new RangeError(`write at ${op.from} outside [${this.start}, ${this.end}]`)
        this.entries = [...this.entries.slice(0, op.from - this.start), ...op.entries]
        return
      case 'compact':
        this.prevEpoch = this.epochAt(op.index - 1)!
        this.entries = this.entries.slice(op.index - this.start)
        this.start = op.index
        return
      case 'reset':
        this.start = op.start
        this.prevEpoch = op.prevEpoch
        this.entries = []
    }
  }
}

export interface Msg {
  from: string
  to: string
  message: ReplicationMessage
}

export class Node {
  core: ReplicationCore
  following: Following | undefined
  op: LocalOp | undefined
  positions: Array<{ position: LogPosition; beforeOp: LocalOp | undefined }> = []
  constructor(
    readonly id: string,
    readonly log: MemLog,
    readonly options: Partial<ReplicationOptions>,
    readonly h: Harness,
  ) {
    this.core = this.build()
  }
  build(): ReplicationCore {
    return new ReplicationCore(
      {
        self: this.id,
        state: { clusterId: undefined, start: this.log.start, end: this.log.end, lastEpoch: this.log.epochAt(this.log.end - 1) ?? 0 },
        epochAt: (i) => this.log.epochAt(i),
        options: this.options,
      },
      this.h.now,
    )
  }
  /** Crash and restart: the durable log stays, the core and an unfinished write are lost. */
  restart(): void {
    this.op = undefined
    this.core = this.build()
    this.flush()
  }
  flush(): void {
    for (;;) {
      const ready = this.core.takeReady()
      if (ready.position !== undefined) this.positions.push({ position: ready.position, beforeOp: ready.op })
      if (ready.op !== undefined) this.op = ready.op
      // Every message crosses the real codec.
      for (const s of ready.send) this.h.queue.push({ from: this.id, to: s.to, message: decodeReplication(encodeReplication(s.message)) })
      for (const r of ready.reads) {
        const entries = this.log.entries.filter((e) => e.index >= r.from && e.index < r.to)
        this.core.readDone(r, entries, this.h.now)
      }
      if (ready.reads.length === 0) return
    }
  }
  /** Finishes the write under way. */
  completeOp(): boolean {
    const op = this.op
    if (op === undefined) return false
    this.op = undefined
    this.log.apply(op)
    this.core.opDone(true, this.h.now)
    this.flush()
    return true
  }
}

export class Harness {
  now = 0
  queue: Msg[] = []
  readonly nodes = new Map<string, Node>()
  /** Messages to these nodes are dropped. */
  readonly cut = new Set<string>()
  /** These nodes do not finish writes. */
  readonly stalled = new Set<string>()
  dropped: Msg[] = []
  /** Messages for which this returns false are dropped. */
  filter: (msg: Msg) => boolean = () => true
  constructor(ids: string[], options: Partial<ReplicationOptions> = {}) {
    for (const id of ids) this.nodes.set(id, new Node(id, new MemLog(), options, this))
  }
  node(id: string): Node {
    return this.nodes.get(id)!
  }
  get ids(): string[] {
    return [...this.nodes.keys()]
  }
  /** `leader` leads `epoch`; every other node follows it. */
  elect(leader: string, epoch: number): void {
    for (const n of this.nodes.values()) {
      n.following = { leader, epoch }
      if (n.id !== leader) n.core.stepDown()
    }
    const l = this.node(leader)
    l.core.lead(epoch, this.ids, this.now)
    l.flush()
  }
  /** Proposes one append; returns the index of its (first) entry. */
  propose(leader: string, payloads: string[]): number {
    const l = this.node(leader)
    const { offset } = l.core.propose(
      payloads.map((p) => new TextEncoder().encode(p)),
      this.now,
    )
    l.flush()
    return appendIndexOf(offset)
  }
  /** Delivers messages and finishes writes until nothing moves. */
  settle(maxSteps = 10_000): void {
    for (let step = 0; step < maxSteps; step++) {
      const msg = this.queue.shift()
      if (msg !== undefined) {
        if (this.cut.has(msg.to) || this.cut.has(msg.from) || !this.filter(msg)) {
          this.dropped.push(msg)
          continue
        }
        const n = this.node(msg.to)
        n.core.receive(msg.from, msg.message, n.following, this.now)
        n.flush()
        continue
      }
      let moved = false
      for (const n of this.nodes.values()) if (!this.stalled.has(n.id) && n.completeOp()) moved = true
      if (!moved) return
    }
    throw new Error('harness did not settle')
  }
  /** Advances time by `ms` in ticks, settling after each. */
  advance(ms: number, stepMs = 50): void {
    for (let t = 0; t < ms; t += stepMs) {
      this.now += stepMs
      for (const n of this.nodes.values()) {
        n.core.tick(this.now)
        n.flush()
      }
      this.settle()
    }
  }
  text(id: string): string[] {
    return this.node(id).log.entries.map((e) => `${e.epoch}:${e.payloads.map((p) => new TextDecoder().decode(p)).join(',')}`)
  }
}
