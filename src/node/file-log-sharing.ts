/**
 * The `file:` job log serves the peers of one host, which share its directory. A voter on another
 * host (or started with another path) would replay a different file when it leads and lose every
 * job the others acknowledged. So each peer leaves a marker named by its node id in the directory
 * it uses, and a node opens the log to lead only when every voter's marker is there.
 */
import { access, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { JobLogNotSharedError } from '../storage/errors.js'

const MEMBERS_DIR = 'members'

/** Records that `nodeId` uses the log in `dir`. */
export async function markFileLogUser(dir: string, nodeId: string): Promise<void> {
  await mkdir(join(dir, MEMBERS_DIR), { recursive: true, mode: 0o700 })
  await writeFile(join(dir, MEMBERS_DIR, nodeId), '', { mode: 0o600 })
}

/** Throws JobLogNotSharedError naming the voters that left no marker in `dir`. */
export async function checkFileLogShared(dir: string, voters: readonly string[]): Promise<void> {
  const missing: string[] = []
  for (const voter of voters) {
    if (!(await access(join(dir, MEMBERS_DIR, voter)).then(() => true, () => false))) missing.push(voter)
  }
  if (missing.length > 0) throw new JobLogNotSharedError(dir, missing)
}
