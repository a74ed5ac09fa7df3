// Goal: the gossiped event-loop lag is the delay beyond the monitor's own sampling period: near zero
// for an idle loop, and about the length of a block when the loop is blocked.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ProcessLoad } from '../../../src/adapters/process/load.js'
import { realEnvironment } from '../../../src/env/real.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

test('idle lag is near zero; a 60 ms block shows as about 60 ms', async () => {
  const load = new ProcessLoad(realEnvironment().clock)
  try {
    // Other test files share the cores, so some windows are not idle; the quietest must read near
    // zero, which a lag that included the 10 ms sampling period never would.
    const idle: number[] = []
    for (let i = 0; i < 8; i++) {
      await sleep(100)
      idle.push(load.sample().eventLoopLagMs)
    }
    assert.ok(Math.min(...idle) < 5, `idle lags ${idle.join(', ')} ms`)
    assert.ok(load.sample().memoryMb > 0)
    await sleep(50)
    const until = performance.now() + 60
    while (performance.now() < until) {
      // block the event loop
    }
    await sleep(50)
    const blocked = load.sample()
    assert.ok(blocked.eventLoopLagMs >= 40 && blocked.eventLoopLagMs < 250, `lag after a 60 ms block: ${blocked.eventLoopLagMs} ms`)
    assert.ok(blocked.cpu > 0.2, `cpu ${blocked.cpu}`)
  } finally {
    load.stop()
  }
})
