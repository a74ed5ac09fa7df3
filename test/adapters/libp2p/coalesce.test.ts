// Goal: what the layers above a raw connection write in one event-loop turn leaves in one socket
// write, byte for byte and in order, with bounded buffering, errors passed on and early stops
// ending the source; on real libp2p peers (with and without a cluster secret) a request and its
// reply cost two socket writes instead of four (each data frame used to be followed by a write of
// its own for yamux's window update).
import assert from 'node:assert/strict'
import net from 'node:net'
import { test } from 'node:test'
import { Uint8ArrayList } from 'uint8arraylist'
import { coalesce, HIGH_WATER_BYTES } from '../../../src/adapters/libp2p/coalesce.js'
import { generateClusterSecret } from '../../../src/adapters/libp2p/identity.js'
import { connect, startNode, stopAll } from './helpers.js'

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

/** A source fed by hand: push() adds a chunk, end() and fail() finish it. */
function manualSource(): {
  source: AsyncIterable<Uint8Array | Uint8ArrayList>
  push: (c: Uint8Array | Uint8ArrayList) => void
  end: () => void
  fail: (e: Error) => void
  pulled: () => number
  finished: () => boolean
} {
  const queue: Array<Uint8Array | Uint8ArrayList | Error | null> = []
  let wake: (() => void) | undefined
  let pulled = 0
  let finished = false
  const add = (x: Uint8Array | Uint8ArrayList | Error | null): void => {
    queue.push(x)
    wake?.()
  }
  return {
    source: (async function* () {
      try {
        for (;;) {
          while (queue.length === 0) await new Promise<void>((r) => (wake = r))
          const x = queue.shift()!
          if (x === null) return
          if (x instanceof Error) throw x
          pulled++
          yield x
        }
      } finally {
        finished = true
      }
    })(),
    push: add,
    end: () => add(null),
    fail: (e) => add(e),
    pulled: () => pulled,
    finished: () => finished,
  }
}

test('chunks of one turn leave together, in order; later turns leave separately', async () => {
  const s = manualSource()
  const out: Uint8Array[] = []
  const reading = (async () => {
    for await (const chunk of coalesce(s.source)) out.push(chunk)
  })()
  s.push(bytes(1, 2))
  s.push(new Uint8ArrayList(bytes(3), bytes(4, 5)))
  s.push(bytes(6))
  await turn()
  await turn()
  s.push(bytes(7))
  await turn()
  await turn()
  s.end()
  await reading
  assert.deepEqual(
    out.map((c) => [...c]),
    [[1, 2, 3, 4, 5, 6], [7]],
  )
})

test('a source error is passed on after the chunks before it', async () => {
  const s = manualSource()
  const out: number[][] = []
  s.push(bytes(1))
  s.fail(new Error('boom'))
  await assert.rejects(
    (async () => {
      for await (const chunk of coalesce(s.source)) out.push([...chunk])
    })(),
    /boom/,
  )
  assert.deepEqual(out, [[1]])
})

test('a consumer that stops early ends the source', async () => {
  const s = manualSource()
  s.push(bytes(1))
  for await (const chunk of coalesce(s.source)) {
    assert.deepEqual([...chunk], [1])
    break
  }
  s.push(bytes(2)) // lets a pending pull finish so that the source can see the end
  await turn()
  assert.equal(s.finished(), true)
})

test('no more than the high-water mark is read ahead of a consumer that does not take it', async () => {
  const chunk = new Uint8Array(64 * 1024)
  let pulled = 0
  const endless = (async function* () {
    for (;;) {
      pulled++
      yield chunk
    }
  })()
  const it = coalesce(endless)[Symbol.asyncIterator]()
  const first = await it.next()
  assert.ok(first.value !== undefined && first.value.length >= chunk.length)
  for (let i = 0; i < 20; i++) await turn()
  assert.ok(pulled * chunk.length <= first.value.length + HIGH_WATER_BYTES + 2 * chunk.length, `pulled ${pulled} chunks`)
  await it.return(undefined)
})

for (const secret of [false, true]) {
  test(`a request and its reply cost two socket writes on real peers${secret ? ' behind a cluster secret' : ''}`, async () => {
    const clusterSecret = secret ? generateClusterSecret() : undefined
    const [a, b] = [await startNode(clusterSecret === undefined ? {} : { clusterSecret }), await startNode(clusterSecret === undefined ? {} : { clusterSecret })]
    let writes = 0
    const write = net.Socket.prototype.write
    try {
      await connect(a.net, b.net)
      const payload = new Uint8Array(200).fill(3)
      let answered: () => void = () => {}
      b.net.handle('/t/req', () => void b.net.send(a.net.self, '/t/res', payload))
      a.net.handle('/t/res', () => answered())
      const roundTrip = (): Promise<void> => new Promise<void>((resolve) => ((answered = resolve), a.net.send(b.net.self, '/t/req', payload)))
      for (let i = 0; i < 20; i++) await roundTrip() // warm-up: windows and streams settle
      net.Socket.prototype.write = function (this: net.Socket, ...args: Parameters<typeof write>) {
        writes++
        return write.apply(this, args)
      } as typeof write
      const ROUNDS = 200
      for (let i = 0; i < ROUNDS; i++) await roundTrip()
      net.Socket.prototype.write = write
      // Both peers are in this process, so this counts both ends: one write for the request and one
      // for the reply (each carrying the window update for what its sender read). Gossip or pings
      // may add a few.
      assert.ok(writes <= ROUNDS * 2 + 20, `${writes} socket writes for ${ROUNDS} round trips`)
    } finally {
      net.Socket.prototype.write = write
      await stopAll([a, b])
    }
  })
}
