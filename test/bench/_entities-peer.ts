/**
 * One peer of the entities bench in its own process: starts a node from the checkout at DX_ROOT
 * (so the same program runs the code under test and the code it is compared with), registers an
 * echo entity and, on the parent's command over IPC, asks it from this peer with a window in flight.
 * Its CPU time over a pass is reported with the pass, so the parent can sum all peers'.
 */
import { pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { performance } from 'node:perf_hooks'

interface PeerInit {
  listen: string
  http: string
  dataDir: string
  secretFile: string
  bootstrap?: string
}
export type PeerCommand = { cmd: 'view' } | { cmd: 'load'; count: number; window: number; keys: number; offset: number; profile: boolean } | { cmd: 'stop' }
export type PeerEvent =
  | { ev: 'ready'; address: string }
  | { ev: 'view'; up: number; leader: boolean }
  | { ev: 'loaded'; asks: number; ms: number; cpuUs: number; retried: number; errors: Record<string, number>; frames: number; writes: number }

type Runtime = typeof import('../../src/index.js')
type Echo = import('../../src/index.js').Ask<{ type: 'echo'; body: string }, string>

const PAYLOAD = 'x'.repeat(80)
const send = (event: PeerEvent): void => {
  process.send!(event)
}

const root = process.env.DX_ROOT!
const init = JSON.parse(process.env.DX_PEER!) as PeerInit
// DX_DIST=1 runs the built dist/ (npm run build) instead of the sources: profiles then name lines.
const dx = (await import(pathToFileURL(process.env.DX_DIST === '1' ? join(root, 'dist', 'src', 'index.js') : join(root, 'src', 'index.ts')).href)) as Runtime
const echo = dx.defineEntity<Echo>('echo', { setup: () => ({ echo: (m) => m.body }) })
const node = await dx.startNode(dx.resolveConfig({ ...init, logLevel: 'error' }, {}), [], [echo])
send({ ev: 'ready', address: node.addresses[0]! })

/**
 * Profiles only the pass it wraps (PEER_PROF=DIR), not the start, the warm-up and the stop, which
 * otherwise outweigh the steady state the bench measures.
 */
async function profiled<T>(run: () => Promise<T>): Promise<T> {
  const dir = process.env.PEER_PROF
  if (dir === undefined) return run()
  const session = new Session()
  session.connect()
  if (process.env.PEER_HEAP === '1') {
    await session.post('HeapProfiler.enable')
    await session.post('HeapProfiler.startSampling', { samplingInterval: 2048, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
    const result = await run()
    const { profile } = await session.post('HeapProfiler.stopSampling')
    await writeFile(join(dir, `peer-${process.pid}.heapprofile`), JSON.stringify(profile))
    session.disconnect()
    return result
  }
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  const result = await run()
  const { profile } = await session.post('Profiler.stop')
  await writeFile(join(dir, `peer-${process.pid}.cpuprofile`), JSON.stringify(profile))
  session.disconnect()
  return result
}

/**
 * The mesh's frame and write counters from this peer's /metrics: frames sent per ask say how many
 * asks share a batch envelope (each batch and each reply is one frame), writes how many frames
 * share a socket write.
 */
async function meshCounters(): Promise<{ frames: number; writes: number }> {
  const text = await (await fetch(`http://${init.http}/metrics`)).text()
  const read = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)
  return { frames: read('dx_net_frames_sent_total'), writes: read('dx_net_writes_total') }
}

async function load(count: number, window: number, keys: number, offset: number): Promise<void> {
  const mesh0 = await meshCounters()
  let next = 0
  let retried = 0
  const errors: Record<string, number> = {}
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (next < count) {
        const i = next++
        const ref = node.entities.get(echo, `k${(i * 7 + offset) % keys}`)
        // A key whose shard moves under the ask (EntityUnavailableError) is asked again.
        for (let attempt = 0; ; attempt++) {
          try {
            await ref.ask({ type: 'echo', body: PAYLOAD }, { timeoutMs: 30_000 })
            break
          } catch (error) {
            retried++
            const name = (error as Error).name ?? 'Error'
            errors[name] = (errors[name] ?? 0) + 1
            if (attempt >= 20) throw error
          }
        }
      }
    }),
  )
  const cpu = process.cpuUsage(cpu0)
  const ms = performance.now() - t0
  const mesh = await meshCounters()
  send({ ev: 'loaded', asks: count, ms, cpuUs: cpu.user + cpu.system, retried, errors, frames: mesh.frames - mesh0.frames, writes: mesh.writes - mesh0.writes })
}

process.on('message', (m: PeerCommand) => {
  if (m.cmd === 'view') {
    const view = node.cluster.view()
    send({ ev: 'view', up: view?.members.filter((x) => x.state === 'up').length ?? 0, leader: view?.leader !== null && view?.leader !== undefined })
  } else if (m.cmd === 'load') {
    const pass = (): Promise<void> => load(m.count, m.window, m.keys, m.offset)
    ;(m.profile ? profiled(pass) : pass()).catch((error: unknown) => {
      console.error('load failed', error)
      process.exit(1)
    })
  } else {
    node.stop({ timeoutMs: 2000 }).then(
      () => process.exit(0),
      () => process.exit(0),
    )
  }
})
