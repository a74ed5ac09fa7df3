// Goal: the gossiped event-loop lag is the delay beyond the monitor's own sampling period: near zero
// for an idle loop, and about the length of a block when the loop is blocked.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ProcessLoad } from '../../../src/adapters/process/load.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

test('idle lag is near zero; a 60 ms block shows as about 60 ms', async () => {
  const load = new ProcessLoad()
  try {
    await sleep(300)
    const idle = load.sample()
    assert.ok(idle.eventLoopLagMs < 8, `idle lag ${idle.eventLoopLagMs} ms`)
    assert.ok(idle.memoryMb > 0)
    await sleep(50)
    const until = performance.now() + 60
    while (performance.now() < until) {
      // block the event loop
    }
    await sleep(50)
    const blocked = load.sample()
    assert.ok(blocked.eventLoopLagMs >= 40 && blocked.eventLoopLagMs < 150, `lag after a 60 ms block: ${blocked.eventLoopLagMs} ms`)
    assert.ok(blocked.cpu > 0.2, `cpu ${blocked.cpu}`)
  } finally {
    load.stop()
  }
})
