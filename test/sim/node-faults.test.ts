// Goal: node faults do what they say: a crash drops the incarnation's volatile state, timers and
// deliveries; a restart boots from durable state; a pause holds events until it ends; skew and
// drift change what a node's clocks read and when its timers fire in true time.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { World } from '../../sim/world.js'
import { PROTOCOL, bytes, runUntil } from './helpers.js'

interface Counter {
  ticks: number
  received: number
  bootCount: number
  wallAtBoot: number
}

/** Each incarnation counts timer ticks every 100 ms and received messages; the disk counts boots. */
function counterWorld(nodes = 2): World<Counter> {
  const world = new World<Counter>(1, nodes, (ctx) => {
    const app: Counter = { ticks: 0, received: 0, bootCount: 0, wallAtBoot: ctx.env.clock.wallMs() }
    ctx.network.handle(PROTOCOL, () => void app.received++)
    void ctx.store.read('boots').then(async (stored) => {
      app.bootCount = (stored?.[0] ?? 0) + 1
      await ctx.store.write('boots', Uint8Array.of(app.bootCount))
    })
    const tick = (): void => {
      app.ticks++
      ctx.env.timers.schedule(100, tick)
    }
    ctx.env.timers.schedule(100, tick)
    return app
  })
  for (const node of world.nodes) world.start(node)
  return world
}

test('a crash stops the incarnation’s timers and deliveries; a restart boots from its disk', async () => {
  const world = counterWorld()
  const n1 = world.node('n1')
  await runUntil(world, 1000)
  const before = n1.app!
  assert.equal(before.ticks, 10)
  assert.equal(before.bootCount, 1)
  world.crash(n1)
  assert.equal(n1.app, undefined)
  await runUntil(world, 2000)
  assert.equal(before.ticks, 10, 'the dead incarnation’s timers never fire again')
  world.start(n1)
  await runUntil(world, 2500)
  const after = n1.app!
  assert.notEqual(after, before)
  assert.equal(after.ticks, 5)
  assert.equal(after.bootCount, 2, 'the disk survived the crash')
  assert.equal(n1.owner.incarnation, 1)
})

test('messages in flight to a crashed incarnation are dropped, not delivered to the next one', async () => {
  const world = counterWorld()
  await runUntil(world, 10)
  world.network.faults = { ...world.network.faults, latencyMinMs: 100, latencyMeanMs: 0.001 }
  world.node('n0').endpoint!.send('n1', PROTOCOL, bytes('x'))
  await runUntil(world, 20)
  world.crash(world.node('n1'))
  world.start(world.node('n1'))
  await runUntil(world, 500)
  assert.equal(world.node('n1').app!.received, 0)
})

test('a write in progress when its node crashes is lost', async () => {
  const world = new World<{ done: boolean }>(1, 1, (ctx) => {
    const app = { done: false }
    void ctx.store.write('k', Uint8Array.of(7)).then(() => (app.done = true))
    return app
  })
  world.start(world.node('n0'))
  await runUntil(world, 0)
  world.crash(world.node('n0'))
  await runUntil(world, 100)
  assert.equal(world.node('n0').disk.data.has('k'), false)
})

test('a pause holds a node’s events and runs them when it resumes', async () => {
  const world = counterWorld()
  const n1 = world.node('n1')
  await runUntil(world, 1000)
  world.pause(n1, 1000)
  world.node('n0').endpoint!.send('n1', PROTOCOL, bytes('during pause'))
  await runUntil(world, 1999)
  assert.equal(n1.app!.ticks, 10)
  assert.equal(n1.app!.received, 0)
  await runUntil(world, 2000)
  assert.equal(n1.app!.received, 1, 'the held delivery ran at resume')
  assert.equal(n1.app!.ticks, 11, 'the held timer ran once at resume, then continued from there')
  await runUntil(world, 2350)
  assert.equal(n1.app!.ticks, 14)
})

test('skew offsets the wall clock; drift makes timers fire early or late in true time', async () => {
  const world = counterWorld(3)
  await runUntil(world, 0)
  world.node('n1').skew.set(world.kernel, 5000, 0.1)
  world.node('n2').skew.set(world.kernel, -3000, -0.1)
  world.crash(world.node('n1'))
  world.crash(world.node('n2'))
  world.start(world.node('n1'))
  world.start(world.node('n2'))
  await runUntil(world, 1050)
  const [n0, n1, n2] = world.nodes.map((n) => n.app!)
  assert.ok(n1!.wallAtBoot - n0!.wallAtBoot >= 5000 - 1)
  assert.ok(n0!.wallAtBoot - n2!.wallAtBoot >= 3000 - 1)
  assert.equal(n0!.ticks, 10)
  assert.equal(n1!.ticks, 11, 'a fast clock fires 100 ms timers every ~91 ms')
  assert.equal(n2!.ticks, 9, 'a slow clock fires them every ~111 ms')
  const mono = world.node('n1').skew.monotonicMs(world.kernel)
  assert.ok(Math.abs(mono - 1155) < 1, `monotonic ${mono}`)
})
