// Goal: one delay monitor serves every reader and wakes the loop only while it is busy: a quiet loop
// runs no 10 ms timer and reads near zero, a 60 ms block shows as at least 60 ms whether or not the
// timer runs, a block off the CPU (a starved process) shows too but starts no timer, and many short
// tasks (busy, but no long block) turn the timer on and read far below their total busy time. Each
// reader sees every window once, and costs little memory.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LoopDelayMonitor } from '../../../src/adapters/process/loop-delay.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const spin = (ms: number): void => {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // block the event loop
  }
}
/** Blocks the loop until the process has used `ms` of CPU: a spin by wall time on a shared core may get far less (other test files run beside this one). */
const spinCpu = (ms: number): void => {
  const start = process.cpuUsage()
  for (let used = 0; used < ms * 1000;) {
    const { user, system } = process.cpuUsage(start)
    used = user + system
  }
}

test('a quiet loop runs no timer; a block is bounded by busy time, then the 10 ms timer runs until quiet again', async () => {
  const monitor = new LoopDelayMonitor()
  const load = monitor.reader()
  const scrape = monitor.reader()
  try {
    // Other test files share the cores, so some windows are busy; the quietest must read near zero and run no timer.
    const quiet: Array<{ lagMs: number; fine: boolean }> = []
    for (let i = 0; i < 8; i++) {
      await sleep(50)
      quiet.push({ lagMs: load.take().p99Ms, fine: monitor.fineActive })
    }
    assert.ok(
      quiet.some((q) => q.lagMs < 5 && !q.fine),
      `quiet windows ${JSON.stringify(quiet)}`,
    )
    scrape.take()

    // A block in a quiet window: its busy time bounds the lag, and the next window runs the timer.
    for (let i = 0; i < 40 && monitor.fineActive; i++) {
      await sleep(50)
      load.take()
    }
    assert.equal(monitor.fineActive, false, 'a quiet window turns the timer off')
    spin(60)
    await sleep(5)
    const blocked = load.take()
    assert.ok(blocked.maxMs >= 60 && blocked.maxMs < 250, `block while quiet: ${blocked.maxMs} ms`)
    assert.ok(monitor.fineActive, 'a busy window turns the timer on')

    // A block while the timer runs: a tick waits for it.
    await sleep(30)
    spin(60)
    await sleep(30)
    const fine = load.take()
    assert.ok(fine.count >= 3, `ticks recorded: ${fine.count}`)
    assert.ok(fine.maxMs >= 40 && fine.maxMs < 250, `block while fine: ${fine.maxMs} ms`)

    // The other reader saw both blocks in its one window.
    const both = scrape.take()
    assert.ok(both.maxMs >= 40 && both.count > fine.count, `scrape reader: ${JSON.stringify(both)}`)
  } finally {
    monitor.stop()
  }
  assert.equal(monitor.fineActive, false, 'stop clears the timer')
})

test('a loop held up off the CPU (a starved process) reads the delay but runs no timer', async () => {
  const monitor = new LoopDelayMonitor()
  const load = monitor.reader()
  const blocked = new Int32Array(new SharedArrayBuffer(4))
  try {
    for (let i = 0; i < 40 && monitor.fineActive; i++) {
      await sleep(50)
      load.take()
    }
    assert.equal(monitor.fineActive, false, 'quiet to begin with')
    // Blocks the loop for 60 ms without using the CPU, as the scheduler does to a process it starves.
    Atomics.wait(blocked, 0, 0, 60)
    await sleep(5)
    const read = load.take()
    assert.ok(read.maxMs >= 60 && read.maxMs < 250, `held up off the CPU: ${read.maxMs} ms`)
    assert.equal(monitor.fineActive, false, 'no 10 ms timer for a window busy off the CPU')
    spinCpu(60)
    await sleep(5)
    load.take()
    assert.ok(monitor.fineActive, 'a window busy on the CPU turns the timer on')
  } finally {
    monitor.stop()
  }
})

test('many short tasks keep the timer on and read far below their total busy time', async () => {
  const monitor = new LoopDelayMonitor()
  const load = monitor.reader()
  try {
    const work = async (ms: number): Promise<number> => {
      const until = performance.now() + ms
      let busy = 0
      while (performance.now() < until) {
        spin(2)
        busy += 2
        await sleep(1)
      }
      return busy
    }
    const first = await work(150)
    const bound = load.take()
    assert.ok(bound.maxMs >= first * 0.9, `a quiet window reports its busy time (${bound.maxMs} ms of ${first} ms)`)
    assert.ok(monitor.fineActive)
    await work(300)
    const measured = load.take()
    assert.ok(monitor.fineActive, 'still busy')
    assert.ok(measured.count >= 5 && measured.p50Ms < 20, `2 ms tasks: ${JSON.stringify(measured)}`)
  } finally {
    monitor.stop()
  }
})

test('the p99 alone sees a block like the full summary, and starts a new window too', async () => {
  const monitor = new LoopDelayMonitor()
  const full = monitor.reader()
  const p99 = monitor.reader()
  try {
    for (let i = 0; i < 40 && monitor.fineActive; i++) {
      await sleep(50)
      full.take()
      p99.takeP99Ms()
    }
    full.take()
    p99.takeP99Ms()
    spin(60)
    await sleep(5)
    const blocked = p99.takeP99Ms()
    const summary = full.take()
    assert.ok(blocked >= 55 && blocked < 250, `block: p99 ${blocked} ms`)
    assert.ok(summary.p99Ms >= 55 && summary.p99Ms < 250, `the other reader saw the block too: ${summary.p99Ms} ms`)
    assert.ok(p99.takeP99Ms() < blocked, 'the block is gone from the next window')
  } finally {
    monitor.stop()
  }
})

test("a reader's histogram stays small once read (its counters are all resident after a reset)", () => {
  const monitor = new LoopDelayMonitor()
  try {
    const rssBefore = process.memoryUsage().rss
    const readers = Array.from({ length: 40 }, () => monitor.reader())
    for (const r of readers) r.take()
    const grownMb = (process.memoryUsage().rss - rssBefore) / 1048576
    // 40 readers at Node's default histogram (360 KB of counters each) grow RSS by about 14 MB.
    assert.ok(grownMb < 5, `40 readers grew RSS by ${grownMb.toFixed(1)} MB`)
  } finally {
    monitor.stop()
  }
})
