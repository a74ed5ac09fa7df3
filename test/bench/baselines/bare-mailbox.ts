/**
 * The floor to compare against: a bare actor with an array mailbox drained in a microtask, no
 * supervision, no bounds, no addresses. Not part of DistributeX; benchmark baseline only.
 */
export class BareActor<M> {
  private readonly queue: M[] = []
  private head = 0
  private scheduled = false
  private readonly drain = (): void => {
    this.scheduled = false
    const queue = this.queue
    while (this.head < queue.length) this.handler(queue[this.head++]!)
    queue.length = 0
    this.head = 0
  }

  constructor(private readonly handler: (message: M) => void) {}

  tell(message: M): void {
    this.queue.push(message)
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(this.drain)
    }
  }

  ask<R>(build: (reply: (value: R) => void) => M): Promise<R> {
    return new Promise<R>((resolve) => this.tell(build(resolve)))
  }
}
