/**
 * Remote actor messaging and failover, on loopback:
 * - tell throughput: an actor on peer A tells ~100-byte messages to an actor on peer B through
 *   RemoteMessaging over the libp2p network (both peers in this process, as in the transport
 *   baseline), in windows so that flow control never refuses a send;
 * - ask round trip: sequential asks from A to an echo actor on B, p50 and p99;
 * - failover: three `distributex start` processes; kill -9 of the leader, then the time until a
 *   survivor accepts a job submission (the new leader has fenced and replayed the job log and acts),
 *   over 10 trials.
 * Prints one JSON object on the last line.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'
import { createLibp2pNetwork, generateClusterSecret } from '../../src/adapters/libp2p/index.js'
import { createActorSystem, defineActor, realEnvironment, type Ask } from '../../src/index.js'
import { RemoteMessaging } from '../../src/net/remoting.js'
import { Peer, agreedLeader, freePort, waitFor } from '../helpers/peers.js'

const TELLS = Number(process.env.TELLS ?? 1_000_000)
const WINDOW = 20_000
const SEND_BATCH = 2000
const ASKS = Number(process.env.ASKS ?? 10_000)
const TRIALS = Number(process.env.FAILOVER_TRIALS ?? 10)
const PAYLOAD = 'x'.repeat(80)

type Sink = { type: 'm'; body: string } | Ask<{ type: 'count' }, number>
type Echo = Ask<{ type: 'echo'; body: string }, string>

async function twoPeers() {
  const secret = generateClusterSecret()
  const make = async (bootstrap: string[]) => {
    const env = realEnvironment({ logLevel: 'error' })
    const network = await createLibp2pNetwork({ env, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, clusterSecret: secret })
    await network.start()
    const system = createActorSystem({ env, nodeId: network.self })
    const remoting = new RemoteMessaging(system, network)
    remoting.start()
    return { network, system, remoting }
  }
  const b = await make([])
  const a = await make([b.network.addresses()[0]!])
  await waitFor(
    async () => a.network.peers().includes(b.network.self),
    (ok) => ok,
    10_000,
    'the peers to connect',
  )
  return { a, b, close: async () => Promise.all([a, b].map(async (p) => (await p.system.shutdown(), p.remoting.stop(), await p.network.stop()))) }
}

async function tellAndAsk(): Promise<{ tells: number; p50: number; p99: number }> {
  const { a, b, close } = await twoPeers()
  let received = 0
  b.system.spawn(defineActor<Sink>({ setup: () => ({ m: () => void received++, count: () => received }) }), { name: 'sink' })
  b.system.spawn(defineActor<Echo>({ setup: () => ({ echo: (m) => m.body }) }), { name: 'echo' })
  const sink = a.system.ref<Sink>({ node: b.network.self, path: '/user/sink' })
  const echo = a.system.ref<Echo>({ node: b.network.self, path: '/user/echo' })
  const message: Sink = { type: 'm', body: PAYLOAD }
  for (let i = 0; i < 20_000; i++) sink.tell(message)
  await waitFor(
    async () => received,
    (n) => n >= 20_000,
    30_000,
    'warm-up',
  )
  received = 0
  const start = performance.now()
  let sent = 0
  // Per event-loop turn, send a batch while fewer than WINDOW are in flight, as the transport bench does.
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      for (let batch = 0; sent < TELLS && sent - received < WINDOW && batch < SEND_BATCH; batch++, sent++) sink.tell(message)
      if (sent < TELLS) setImmediate(pump)
      else resolve()
    }
    pump()
  })
  await waitFor(
    async () => received,
    (n) => n >= TELLS,
    60_000,
    'every tell',
  )
  const tells = TELLS / ((performance.now() - start) / 1000)
  if (a.system.deadLetters.count > 0) throw new Error(`${a.system.deadLetters.count} tells were refused`)
  for (let i = 0; i < 500; i++) await echo.ask({ type: 'echo', body: PAYLOAD }, { timeoutMs: 5000 })
  const rtts: number[] = []
  for (let i = 0; i < ASKS; i++) {
    const t0 = performance.now()
    await echo.ask({ type: 'echo', body: PAYLOAD }, { timeoutMs: 5000 })
    rtts.push((performance.now() - t0) * 1000)
  }
  rtts.sort((x, y) => x - y)
  await close()
  return { tells, p50: rtts[Math.floor(rtts.length * 0.5)]!, p99: rtts[Math.floor(rtts.length * 0.99)]! }
}

async function failover(): Promise<number[]> {
  const dir = await mkdtemp(join(tmpdir(), 'dx-failover-'))
  const bin = join(import.meta.dirname, '..', '..', 'src', 'cli', 'bin.mjs')
  await promisify(execFile)(process.execPath, [bin, 'secret', '--out', join(dir, 'cluster.key')])
  const peers: Peer[] = []
  try {
    for (let i = 0; i < 3; i++) {
      const p = new Peer({
        name: `p${i}`,
        dataDir: join(dir, `p${i}`),
        secretFile: join(dir, 'cluster.key'),
        p2pPort: await freePort(),
        httpPort: await freePort(),
        jobLog: `file:${join(dir, 'joblog')}`,
        bootstrap: i === 0 ? [] : [await peers[0]!.address()],
      })
      peers.push(p)
      p.start()
      await p.address()
    }
    const times: number[] = []
    for (let trial = 0; trial < TRIALS; trial++) {
      const leader = await waitFor(
        () => agreedLeader(peers),
        (l) => l !== undefined,
        60_000,
        'a leader',
      )
      const ids = await Promise.all(peers.map(async (p) => (await p.status())!.nodeId))
      const victim = peers[ids.indexOf(leader!.nodeId)]!
      const survivor = peers.find((p) => p !== victim)!
      await survivor.call('POST', '/jobs', { type: 'noop', input: null })
      const killedAt = performance.now()
      await victim.kill()
      for (;;) {
        const reply = await survivor.call<{ id?: string }>('POST', '/jobs', { type: 'noop', input: null, options: {} }).catch(() => ({ status: 0, json: {} }))
        if (reply.status === 202) break
      }
      times.push(performance.now() - killedAt)
      console.error(`failover trial ${trial + 1}: ${Math.round(times[times.length - 1]!)} ms`)
      victim.start()
    }
    return times
  } finally {
    await Promise.all(peers.map((p) => p.kill()))
    await rm(dir, { recursive: true, force: true })
  }
}

const { tells, p50, p99 } = await tellAndAsk()
console.error(`remote tell ${Math.round(tells)} msgs/s; ask rtt p50 ${Math.round(p50)} us, p99 ${Math.round(p99)} us`)
const times = (await failover()).sort((x, y) => x - y)
console.log(
  JSON.stringify({
    bench: 'remote',
    tell_msgs_per_s: Math.round(tells),
    ask_p50_us: Math.round(p50),
    ask_p99_us: Math.round(p99),
    failover_ms_p50: Math.round(times[Math.floor(times.length / 2)]!),
    failover_ms_max: Math.round(times[times.length - 1]!),
  }),
)
