/**
 * Runs actors that have work. Cells with queued messages wait in a FIFO run queue; a drain takes
 * each in turn for a slice of at most `cellBatch` messages, so one busy actor cannot starve others.
 *
 * Drains start as microtasks, which keeps message passing cheap. After `yieldBudget` messages without
 * a macrotask turn the next drain is scheduled through the environment's timers instead, so timers
 * and I/O always get their turn even under a message storm that never goes idle.
 */
import type { Timers } from '../env/types.js'

/** What the dispatcher needs from an actor cell. */
export interface Runnable {
  /** True while the cell sits in the run queue. */
  scheduled: boolean
  /** Processes up to `max` messages and returns how many it took; the cell re-queues itself if work remains. */
  run(max: number): number
  /** True when the cell could process a message right now. */
  hasWork(): boolean
}

/** Tuning of the dispatcher. */
export interface DispatcherInit {
  /** Messages one cell may process before the next cell gets a turn. */
  cellBatch?: number
  /** Messages processed across microtask drains before a macrotask turn is forced. */
  yieldBudget?: number
}

const CELL_BATCH = 128
const YIELD_BUDGET = 32_768

export class Dispatcher {
  private queue: Runnable[] = new Array(64)
  private head = 0
  private count = 0
  private draining = false
  private pending = false
  private sinceYield = 0
  /** Messages processed since the dispatcher was created. */
  processed = 0
  private readonly cellBatch: number
  private readonly yieldBudget: number
  private readonly drainMicro = (): void => this.drain()
  private readonly drainMacro = (): void => {
    this.sinceYield = 0
    this.drain()
  }

  constructor(
    private readonly timers: Timers,
    /** Called whenever the run queue empties. */
    private readonly onIdle: () => void,
    init: DispatcherInit = {},
  ) {
    this.cellBatch = init.cellBatch ?? CELL_BATCH
    this.yieldBudget = init.yieldBudget ?? YIELD_BUDGET
  }

  /** Queues a cell that has work; does nothing if it is already queued. */
  schedule(cell: Runnable): void {
    if (cell.scheduled) return
    cell.scheduled = true
    this.push(cell)
    if (!this.draining && !this.pending) this.requestDrain()
  }

  private requestDrain(): void {
    this.pending = true
    if (this.sinceYield < this.yieldBudget) queueMicrotask(this.drainMicro)
    else this.timers.schedule(0, this.drainMacro)
  }

  private drain(): void {
    this.pending = false
    this.draining = true
    let budget = this.cellBatch * 64
    while (this.count > 0 && budget > 0) {
      const cell = this.shift()
      cell.scheduled = false
      const processed = cell.run(this.cellBatch)
      budget -= processed + 1
      this.sinceYield += processed
      this.processed += processed
      if (!cell.scheduled && cell.hasWork()) {
        cell.scheduled = true
        this.push(cell)
      }
    }
    this.draining = false
    if (this.count > 0) this.requestDrain()
    else this.onIdle()
  }

  // The run queue's length is a power of two (64, doubled when full), so positions wrap with a mask:
  // every message to a cell that was idle (one per entity activation) passes here.
  private push(cell: Runnable): void {
    let queue = this.queue
    if (this.count === queue.length) {
      const next: Runnable[] = new Array(queue.length * 2)
      for (let k = 0; k < this.count; k++) next[k] = queue[(this.head + k) & (queue.length - 1)]!
      this.queue = queue = next
      this.head = 0
    }
    queue[(this.head + this.count) & (queue.length - 1)] = cell
    this.count++
  }

  private shift(): Runnable {
    const queue = this.queue
    const cell = queue[this.head]!
    queue[this.head] = undefined as unknown as Runnable
    this.head = (this.head + 1) & (queue.length - 1)
    this.count--
    return cell
  }
}
