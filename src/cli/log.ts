/**
 * `distributex log verify <dir>` and `distributex log repair <dir>`: offline checks of a node's
 * logs. `<dir>` is a file job log's directory (holding job.log), a replica log's directory
 * (holding replica.meta or segments), or a data directory holding `replica/`.
 *
 * verify reads only, never changes a byte, and takes no lock (run on a live node, a write in
 * progress may show as a torn tail). It prints what it found: records or entries, epochs, a torn
 * tail (which the next open cuts by itself) and any corruption with its file and byte position.
 * Exit 0 when the log opens as it is, 1 when it is corrupt, 2 when `<dir>` holds no log.
 *
 * repair (the node must be stopped: it takes the log's lock) cuts a corrupt log at its last good
 * frame: the job log file is truncated at the corruption; for a replica log the damaged segment is
 * truncated there (moved aside whole when its header or start is bad) and every later segment is
 * moved aside. The cut bytes are kept beside the log (`*.cut-<position>` / `*.cut`), never deleted.
 * It refuses a job log whose header is bad and a damaged replica meta file (see the README's procedure). Records after the cut are
 * lost from this copy; for a replica log the leader sends them again, but cutting entries this node
 * acknowledged is only safe while a majority of the other voters still hold them.
 */
import { constants } from 'node:fs'
import { copyFile, open, readdir, rename, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { GROUP_BYTES_MAX as REPLICA_GROUP_BYTES_MAX } from '../adapters/replica-log/file-replica-log.js'
import { LOCK_FILE as REPLICA_LOCK_FILE, META_FILE, SEGMENT_HEADER_BYTES, parseSegmentName } from '../adapters/replica-log/format.js'
import { scanReplicaDir, type ReplicaScan } from '../adapters/replica-log/scan.js'
import { LOCK_FILE as JOB_LOCK_FILE, LOG_FILE } from '../adapters/file-log/file-job-log.js'
import { acquireFileLock, errorCode } from '../files/file-lock.js'
import { FILE_HEADER_BYTES } from '../files/file-log-format.js'
import { JobLogCorruptedError, scanLog, type LogScan } from '../files/file-log-recovery.js'
import { openLogFile, syncDirectory } from '../files/file-sync.js'

type Found = { kind: 'job'; path: string } | { kind: 'replica'; dir: string }

/** `distributex log verify <dir>` or `distributex log repair <dir>`: the exit code as described above. */
export async function runLog(action: 'verify' | 'repair', dir: string): Promise<number> {
  const found = await locate(dir)
  if (found === undefined) {
    process.stderr.write(`distributex log: ${dir} holds no job log (${LOG_FILE}) and no replica log (${META_FILE} or segments)\n`)
    return 2
  }
  if (found.kind === 'job') return action === 'verify' ? verifyJobLog(found.path) : repairJobLog(dir, found.path)
  return action === 'verify' ? verifyReplica(found.dir) : repairReplica(found.dir)
}

async function locate(dir: string): Promise<Found | undefined> {
  const names = await readdir(dir).catch((error: unknown) => {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined
    throw error
  })
  if (names === undefined) return undefined
  if (names.includes(LOG_FILE)) return { kind: 'job', path: join(dir, LOG_FILE) }
  if (names.includes(META_FILE) || names.some((n) => parseSegmentName(n) !== undefined)) return { kind: 'replica', dir }
  if (names.includes('replica')) return locate(join(dir, 'replica'))
  return undefined
}

const print = (line: string): void => void process.stdout.write(`${line}\n`)

/** Scans a job log read-only: the scan, or the corruption. */
async function scanJobLog(path: string): Promise<LogScan | JobLogCorruptedError> {
  const file = await open(path, 'r')
  try {
    return await scanLog(file, path)
  } catch (error) {
    if (error instanceof JobLogCorruptedError) return error
    throw error
  } finally {
    await file.close()
  }
}

async function verifyJobLog(path: string): Promise<number> {
  print(`job log ${path}`)
  const scan = await scanJobLog(path)
  if (scan instanceof JobLogCorruptedError) {
    print(`  CORRUPT at byte ${scan.position}: ${scan.message}`)
    print(`status: corrupt (stop the node, then \`distributex log repair\` cuts the log at byte ${scan.position})`)
    return 1
  }
  if (scan.fresh) {
    print(`  empty: ${scan.fileSize} bytes, no complete header yet (opening writes one)`)
    print('status: clean')
    return 0
  }
  const records = scan.index.endOffset
  print(`  ${scan.fileSize} bytes, frames valid through byte ${scan.size}`)
  print(`  records ${records}${records > 0 ? ` (offsets 0..${records - 1})` : ''} in ${scan.index.length} appends, highest epoch ${scan.epoch}`)
  if (scan.torn !== undefined) print(`  torn tail: ${scan.fileSize - scan.size} bytes at byte ${scan.size} (${scan.torn}); the next open cuts it`)
  print('status: clean')
  return 0
}

async function repairJobLog(dir: string, path: string): Promise<number> {
  const lock = await acquireFileLock(join(dir, JOB_LOCK_FILE))
  try {
    const scan = await scanJobLog(path)
    if (!(scan instanceof JobLogCorruptedError)) {
      print(`job log ${path} is not corrupt; nothing to repair`)
      return 0
    }
    if (scan.position < FILE_HEADER_BYTES) {
      print(`job log ${path}: ${scan.message}. Its header is bad, so there is no good frame to cut at; refusing (move the file aside by hand if it is truly lost).`)
      return 1
    }
    const aside = `${path}.cut-${scan.position}`
    await copyFile(path, aside, constants.COPYFILE_EXCL)
    const file = await open(path, 'r+')
    try {
      await file.truncate(scan.position)
      await file.sync()
    } finally {
      await file.close()
    }
    await syncDirectory(dir)
    print(`job log ${path}: cut at byte ${scan.position} (${scan.message}); the whole file before the cut is kept in ${aside}`)
    return (await verifyJobLog(path)) === 0 ? 0 : 1
  } finally {
    await lock.release()
  }
}

async function scanReplica(dir: string): Promise<ReplicaScan> {
  const scan = await scanReplicaDir(dir, openLogFile, 'r', REPLICA_GROUP_BYTES_MAX)
  for (const segment of scan.segments) await segment.file.close()
  return scan
}

async function verifyReplica(dir: string): Promise<number> {
  print(`replica log ${dir}`)
  const scan = await scanReplica(dir)
  const meta = scan.meta
  print(
    meta === undefined
      ? '  no meta file: a new log'
      : `  cluster ${meta.clusterId ?? '(none yet)'}, generation ${meta.generation}, start ${meta.start} (epoch below it ${meta.prevEpoch}), write groups up to ${meta.groupBytesMax} bytes`,
  )
  const start = meta?.start ?? 0
  const last = scan.segments.at(-1)
  const end = last === undefined ? start : Math.max(start, last.firstIndex + last.index.length)
  const entries = end - start
  const epochs = scan.segments.flatMap((s) => (s.index.length === 0 ? [] : [s.index.epochOf(0), s.index.epochOf(s.index.length - 1)]))
  print(
    `  ${scan.corruption === undefined ? '' : 'before the damage: '}segments ${scan.segments.length}, entries ${entries}${entries > 0 ? ` (indexes ${start}..${end - 1})` : ''}${epochs.length > 0 ? `, epochs ${Math.min(...epochs)}..${Math.max(...epochs)}` : ''}`,
  )
  if (scan.leftovers.length > 0) print(`  leftovers the next open removes: ${scan.leftovers.length} (${scan.leftovers.join(', ')})`)
  if (scan.torn !== undefined) print(`  torn tail: ${scan.torn.bytes} bytes at byte ${scan.torn.position} of ${scan.torn.path} (${scan.torn.reason}); the next open cuts it`)
  if (scan.corruption !== undefined) {
    print(`  CORRUPT: ${scan.corruption.path} at byte ${scan.corruption.position}: ${scan.corruption.reason}`)
    print(`status: corrupt (stop the node, then \`distributex log repair\` cuts the log there)`)
    return 1
  }
  print('status: clean')
  return 0
}

async function repairReplica(dir: string): Promise<number> {
  const lock = await acquireFileLock(join(dir, REPLICA_LOCK_FILE), 0o600)
  try {
    const scan = await scanReplica(dir)
    const damage = scan.corruption
    if (damage === undefined) {
      print(`replica log ${dir} is not corrupt; nothing to repair`)
      return 0
    }
    const damaged = parseSegmentName(basename(damage.path))
    if (damaged === undefined) {
      print(
        `replica log ${dir}: ${damage.path} is damaged (${damage.reason}); it cannot be cut. Move the whole directory aside so the node starts with an empty copy and receives the log from the leader.`,
      )
      return 1
    }
    const later = (await readdir(dir)).flatMap((name) => {
      const parsed = parseSegmentName(name)
      return parsed !== undefined && parsed.generation === damaged.generation && parsed.firstIndex > damaged.firstIndex ? [name] : []
    })
    for (const name of later.sort().reverse()) {
      await rename(join(dir, name), join(dir, `${name}.cut`))
      print(`  moved aside ${name} -> ${name}.cut`)
    }
    if (damage.position <= SEGMENT_HEADER_BYTES) {
      await rename(damage.path, `${damage.path}.cut`)
      print(`  moved aside ${damage.path} -> ${damage.path}.cut`)
    } else {
      const aside = `${damage.path}.cut-${damage.position}`
      await copyFile(damage.path, aside, constants.COPYFILE_EXCL)
      const file = await open(damage.path, 'r+')
      try {
        await file.truncate(damage.position)
        await file.sync()
      } finally {
        await file.close()
      }
      print(`  cut ${damage.path} at byte ${damage.position} (the whole segment is kept in ${aside}; ${(await stat(aside)).size} bytes)`)
    }
    await syncDirectory(dir)
    print(`replica log ${dir}: cut at ${damage.path} byte ${damage.position} (${damage.reason})`)
    return (await verifyReplica(dir)) === 0 ? 0 : 1
  } finally {
    await lock.release()
  }
}
