/**
 * The start/stop contract of a production node's parts (the data directory's lock, the network,
 * storage, load sampling, the assembled runtime, the alert webhook, the dashboard hub, HTTP): each
 * part is added once it has started, and all are stopped in one place, in the reverse order of
 * their start, so a part always stops before the parts it was started on (the runtime's graceful
 * leave still has its network; HTTP stops taking submissions before the runtime leaves). A start
 * that fails half-way stops what already runs the same way. Every stop runs even when an earlier
 * one fails; the first failure is rethrown once all have run.
 */
import { assert } from '../assert.js'

/** What a stop may be given: the runtime's stop (whether to leave the cluster, and by when). */
export interface PartStopOptions {
  readonly leave?: boolean
  readonly timeoutMs?: number
}

type Stop = (options: PartStopOptions) => Promise<void> | void

export class NodeParts {
  private readonly started: Array<{ readonly name: string; readonly stop: Stop }> = []
  private stopping: Promise<void> | undefined = undefined

  /** Records a part that has started; it is stopped before every part added earlier. */
  add(name: string, stop: Stop): void {
    assert(this.stopping === undefined, `part ${name} added after the node began to stop`)
    assert(!this.started.some((p) => p.name === name), `part ${name} added twice`)
    this.started.push({ name, stop })
  }

  /** Stops every part, last started first; the same promise to every caller. */
  stop(options: PartStopOptions = {}): Promise<void> {
    this.stopping ??= this.stopAll(options)
    return this.stopping
  }

  /**
   * Runs a start; if it throws, stops the parts started so far (the runtime with a short deadline)
   * and rethrows the start's error, which is what the caller needs to see.
   */
  async starting<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start()
    } catch (error) {
      await this.stop({ timeoutMs: FAILED_START_STOP_MS }).catch(() => undefined)
      throw error
    }
  }

  private async stopAll(options: PartStopOptions): Promise<void> {
    let failure: { readonly error: unknown } | undefined
    for (const part of [...this.started].reverse()) {
      try {
        await part.stop(options)
      } catch (error) {
        failure ??= { error }
      }
    }
    if (failure !== undefined) throw failure.error
  }
}

/** The runtime's leave deadline when a start fails after it was assembled (it has nothing to hand over). */
const FAILED_START_STOP_MS = 1000
