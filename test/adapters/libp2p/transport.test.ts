// Goal: the libp2p binding's direct-message path coalesces writes per tick, bounds memory with
// credit flow control (a slow receiver makes `send` refuse, and it recovers), enforces the payload
// limit on both ends, keeps many protocols apart and survives throwing handlers. Method: real
// libp2p nodes on 127.0.0.1, observed through the binding's metrics and logs.
import assert from 'node:assert/strict'
import { performance } from 'node:perf_hooks'
import { test } from 'node:test'
import { connect, metric, startNode, stopAll, waitFor, type TestNode } from './helpers.js'

const FRAME_OVERHEAD = 7

async function pair(init: Parameters<typeof startNode>[0] = {}, initB = init): Promise<[TestNode, TestNode]> {
  const a = await startNode(init)
  const b = await startNode(initB).catch(async (error: unknown) => {
    await a.net.stop()
    throw error
  })
  await connect(a.net, b.net)
  return [a, b]
}

const nextTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

test('messages sent during one tick go out in one write; one message per tick costs one write each', async () => {
  const [a, b] = await pair()
  try {
    let received = 0
    b.net.handle('/t/coalesce', () => void received++)
    const payload = new Uint8Array(100).fill(1)
    const writesBefore = metric(a, 'dx_net_writes_total')
    for (let i = 0; i < 1000; i++) assert.equal(a.net.send(b.net.self, '/t/coalesce', payload), true)
    await waitFor(() => received === 1000, '1000 messages')
    const burstWrites = metric(a, 'dx_net_writes_total') - writesBefore
    assert.ok(burstWrites >= 1 && burstWrites <= 2, `1000 messages in one tick took ${burstWrites} writes`)
    assert.equal(metric(a, 'dx_net_frames_sent_total'), 1000)
    assert.equal(metric(b, 'dx_net_frames_received_total'), 1000)

    const spreadBefore = metric(a, 'dx_net_writes_total')
    for (let i = 0; i < 40; i++) {
      assert.equal(a.net.send(b.net.self, '/t/coalesce', payload), true)
      await nextTick()
      await nextTick()
    }
    await waitFor(() => received === 1040, '40 more messages')
    const spreadWrites = metric(a, 'dx_net_writes_total') - spreadBefore
    assert.ok(spreadWrites >= 30, `40 messages in 40 ticks took only ${spreadWrites} writes`)
  } finally {
    await stopAll([a, b])
  }
})

test('a slow receiver holds the sender to its credit; send refuses when the queue is full and recovers', async () => {
  // A queue much larger than the window: without credit, each tick would push the whole queue into libp2p.
  const limits = { maxPayloadBytes: 1024, receiveWindowBytes: 16 * 1024, outboundQueueMaxBytes: 256 * 1024 }
  const [a, b] = await pair(limits)
  try {
    let handled = 0
    b.net.handle('/t/slow', () => {
      const until = performance.now() + 0.05
      while (performance.now() < until);
      handled++
    })
    const payload = new Uint8Array(100).fill(2)
    const frameBytes = payload.length + FRAME_OVERHEAD
    const writtenBefore = metric(a, 'dx_net_bytes_written_total')
    const target = 6000
    let accepted = 0
    let refusals = 0
    let inFlightMax = 0
    let queuedMax = 0
    while (accepted < target) {
      while (accepted < target && a.net.send(b.net.self, '/t/slow', payload)) accepted++
      if (accepted < target) refusals++
      await nextTick()
      const written = metric(a, 'dx_net_bytes_written_total') - writtenBefore
      inFlightMax = Math.max(inFlightMax, written - handled * frameBytes)
      queuedMax = Math.max(queuedMax, metric(a, 'dx_net_outbound_queue_bytes'))
    }
    assert.ok(refusals > 0, 'send never refused although the receiver was slow')
    assert.ok(metric(a, 'dx_net_send_refused_total', { reason: 'queue_full' }) > 0)
    // Bytes written but not yet handled stay within the receiver's window (plus one BIND frame and a few control frames).
    assert.ok(inFlightMax <= limits.receiveWindowBytes + 256, `in flight ${inFlightMax} bytes > window ${limits.receiveWindowBytes}`)
    assert.ok(queuedMax <= limits.outboundQueueMaxBytes, `queue reached ${queuedMax} bytes`)

    await waitFor(() => handled === accepted, 'every accepted message to be handled', 20_000)
    assert.equal(a.net.send(b.net.self, '/t/slow', payload), true, 'send does not recover once the receiver drains')
    await waitFor(() => handled === accepted + 1, 'the message after recovery')
    assert.equal(metric(b, 'dx_net_protocol_violations_total'), 0)
  } finally {
    await stopAll([a, b])
  }
})

test('the sender refuses payloads over maxPayloadBytes and delivers one exactly at the limit', async () => {
  const [a, b] = await pair({ maxPayloadBytes: 1000 })
  try {
    const received: Uint8Array[] = []
    b.net.handle('/t/size', (_from, payload) => void received.push(payload))
    assert.equal(a.net.send(b.net.self, '/t/size', new Uint8Array(1001)), false)
    assert.equal(metric(a, 'dx_net_send_refused_total', { reason: 'too_large' }), 1)
    assert.ok(a.logger.records.some((r) => r.level === 'warn' && r.message.includes('oversized')))
    const exact = new Uint8Array(1000).map((_, i) => i % 251)
    assert.equal(a.net.send(b.net.self, '/t/size', exact), true)
    await waitFor(() => received.length === 1, 'the message at the limit')
    assert.deepEqual(received[0], exact)
    assert.equal(a.net.send(b.net.self, '/t/size', new Uint8Array(0)), true)
    await waitFor(() => received.length === 2, 'an empty message')
    assert.equal(received[1]!.length, 0)
  } finally {
    await stopAll([a, b])
  }
})

test('protocol names up to 256 bytes work even when the payload limit is smaller', async () => {
  const [a, b] = await pair({ maxPayloadBytes: 16 })
  try {
    const name = `/t/${'n'.repeat(253)}`
    const received: Uint8Array[] = []
    b.net.handle(name, (_from, payload) => void received.push(payload))
    assert.equal(a.net.send(b.net.self, name, new Uint8Array(16).fill(3)), true)
    await waitFor(() => received.length === 1, 'the message on a long protocol name')
    assert.deepEqual(received[0], new Uint8Array(16).fill(3))
    assert.equal(metric(b, 'dx_net_protocol_violations_total'), 0)
  } finally {
    await stopAll([a, b])
  }
})

test("a frame over the receiver's limit is a protocol violation there; the peers reconnect and carry on", async () => {
  const fast = { redial: { minMs: 20, maxMs: 200 } }
  const [a, b] = await pair({ maxPayloadBytes: 10_000, ...fast }, { maxPayloadBytes: 1_000, ...fast })
  try {
    const received: string[] = []
    b.net.handle('/t/limit', (_from, payload) => void received.push(payload.length === 5000 ? 'big' : new TextDecoder().decode(payload)))
    assert.equal(a.net.send(b.net.self, '/t/limit', new Uint8Array(5000)), true)
    await waitFor(() => metric(b, 'dx_net_protocol_violations_total') === 1, 'the violation at b')
    assert.ok(b.logger.records.some((r) => r.level === 'warn' && String((r.fields.error as Error | undefined)?.name) === 'MalformedFrameError'))
    await waitFor(() => a.net.peers().includes(b.net.self) && b.net.peers().includes(a.net.self), 'the peers to reconnect')
    await waitFor(() => a.net.send(b.net.self, '/t/limit', new TextEncoder().encode('small')) && received.includes('small'), 'a small message after reconnecting')
    assert.ok(!received.includes('big'))
  } finally {
    await stopAll([a, b])
  }
})

test('hundreds of protocols share one stream, each reaching its own handler', async () => {
  const [a, b] = await pair()
  try {
    const got = new Map<string, string>()
    const protocols = Array.from({ length: 300 }, (_, i) => `/t/many/${i}`)
    for (const p of protocols) b.net.handle(p, (_from, payload) => void got.set(p, new TextDecoder().decode(payload)))
    // 300 BIND frames among ~120 KiB of data, so binds straddle buffer boundaries.
    for (const p of protocols) assert.equal(a.net.send(b.net.self, p, new TextEncoder().encode(`${p}|${'y'.repeat(400)}`)), true)
    await waitFor(() => got.size === protocols.length, 'every protocol')
    for (const p of protocols) assert.equal(got.get(p), `${p}|${'y'.repeat(400)}`)
    assert.equal(a.net.send(b.net.self, '', new Uint8Array(1)), false)
    assert.equal(a.net.send(b.net.self, 'x'.repeat(300), new Uint8Array(1)), false)
    for (let i = 300; i < 1024; i++) assert.equal(a.net.send(b.net.self, `/t/many/${i}`, new Uint8Array(1)), true)
    assert.equal(a.net.send(b.net.self, '/t/many/1024', new Uint8Array(1)), false, 'the 1025th protocol on one stream')
    assert.equal(metric(a, 'dx_net_send_refused_total', { reason: 'bad_protocol' }), 3)
    await waitFor(() => metric(b, 'dx_net_frames_received_total') === 1024, 'every message')
    assert.equal(metric(b, 'dx_net_unhandled_total'), 1024 - 300)
    assert.equal(metric(b, 'dx_net_protocol_violations_total'), 0)
  } finally {
    await stopAll([a, b])
  }
})

test('messages of a protocol nobody serves are warned about once, after a few, and only for a bounded set of names', async () => {
  const [a, b] = await pair()
  try {
    const warnings = (): string[] =>
      b.logger.records.filter((r) => r.level === 'warn' && r.message.startsWith('peers send messages of a protocol')).map((r) => String(r.fields?.protocol))
    const send = (protocol: string, count: number): void => {
      for (let i = 0; i < count; i++) assert.equal(a.net.send(b.net.self, protocol, new Uint8Array(1)), true)
    }
    send('/t/unserved', 19)
    await waitFor(() => metric(b, 'dx_net_unhandled_total') === 19, 'the first 19')
    assert.deepEqual(warnings(), [], 'a few messages before a handler is registered say nothing')
    send('/t/unserved', 21)
    for (let i = 0; i < 40; i++) send(`/t/name/${i}`, 20)
    await waitFor(() => metric(b, 'dx_net_unhandled_total') === 40 + 40 * 20, 'every message')
    assert.deepEqual(warnings(), ['/t/unserved', ...Array.from({ length: 15 }, (_, i) => `/t/name/${i}`)])
  } finally {
    await stopAll([a, b])
  }
})

test('a throwing handler or peer listener is logged and counted, and delivery goes on', async () => {
  const [a, b] = await pair()
  try {
    const received: string[] = []
    b.net.handle('/t/throw', (_from, payload) => {
      const text = new TextDecoder().decode(payload)
      if (text === 'boom') throw new Error('handler failure')
      received.push(text)
    })
    for (const text of ['one', 'boom', 'two']) assert.equal(a.net.send(b.net.self, '/t/throw', new TextEncoder().encode(text)), true)
    await waitFor(() => received.length === 2, 'the messages around the failure')
    assert.deepEqual(received, ['one', 'two'])
    assert.equal(metric(b, 'dx_net_handler_errors_total'), 1)
    assert.ok(b.logger.records.some((r) => r.level === 'error' && r.message === 'message handler threw'))

    const events: boolean[] = []
    a.net.onPeerChange(() => {
      throw new Error('listener failure')
    })
    a.net.onPeerChange((_peer, connected) => void events.push(connected))
    await b.net.stop()
    await waitFor(() => events.includes(false), 'the second listener to hear of the disconnection')
    assert.ok(a.logger.records.some((r) => r.level === 'error' && r.message === 'peer listener threw'))
  } finally {
    await stopAll([a, b])
  }
})
