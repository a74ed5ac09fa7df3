/**
 * The `file:` job log serves the peers of one host, which share its directory. A voter on another
 * host (or started with another path) would replay a different file when it leads and lose every
 * job the others acknowledged. So each peer leaves a marker named by its node id in the directory
 * it uses, and a node opens the log to lead only when every voter's marker is there.
 *
 * The directory also names the cluster that first led on it: a cluster started later where another
 * one ran (fresh data directories, the same default log path) would otherwise be fenced by the old
 * cluster's epochs, or replay its jobs as its own.
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClusterMismatchError, JobLogNotSharedError } from '../storage/errors.js'
import { writeFileDurably } from '../files/file-sync.js'
import { ensurePrivateDir } from '../files/private-dir.js'

const MEMBERS_DIR = 'members'
const CLUSTER_FILE = 'cluster'

/** Records that `nodeId` uses the log in `dir`. */
export async function markFileLogUser(dir: string, nodeId: string): Promise<void> {
  await ensurePrivateDir(dir)
  await mkdir(join(dir, MEMBERS_DIR), { recursive: true, mode: 0o700 })
  await writeFile(join(dir, MEMBERS_DIR, nodeId), '', { mode: 0o600 })
}

/** Throws JobLogNotSharedError naming the voters that left no marker in `dir`. */
export async function checkFileLogShared(dir: string, voters: readonly string[]): Promise<void> {
  const missing: string[] = []
  for (const voter of voters) {
    if (
      !(await access(join(dir, MEMBERS_DIR, voter)).then(
        () => true,
        () => false,
      ))
    )
      missing.push(voter)
  }
  if (missing.length > 0) throw new JobLogNotSharedError(dir, missing)
}

/**
 * Records `clusterId` as the cluster of the log in `dir` on first use; throws ClusterMismatchError
 * if another cluster's id is recorded. Without an id yet (a joiner not admitted), nothing is checked.
 */
export async function claimFileLogCluster(dir: string, clusterId: string | undefined): Promise<void> {
  if (clusterId === undefined) return
  const path = join(dir, CLUSTER_FILE)
  const recorded = await readFile(path, 'utf8').then(
    (text) => text.trim(),
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined
      throw error
    },
  )
  if (recorded === undefined) await writeFileDurably(path, `${clusterId}\n`, `${path}.tmp`)
  else if (recorded !== clusterId) throw new ClusterMismatchError(recorded, clusterId, dir)
}
