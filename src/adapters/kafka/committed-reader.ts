/**
 * Reads the job-log partition the way a read_committed consumer would, but at any offset on
 * demand, with no consumer group: plain Fetch requests from the offset asked, through kafkajs's
 * internal cluster (see kafkajs-internals.ts for why).
 *
 * With read_committed isolation the broker returns data only up to the last stable offset, but it
 * still returns the records of aborted transactions, listed separately; this reader drops them,
 * and drops control records (transaction markers, which occupy offsets of their own). So offsets
 * of the records returned strictly increase but are not contiguous.
 *
 * Every loop here advances the fetch position strictly and ends at the last stable offset, and it
 * stops early when its signal aborts (the caller's deadline). Any failure drops the connection,
 * so the next call starts from fresh metadata: that is how reads recover after a broker restart.
 */
import { abortError } from '../../env/abort.js'
import { createReaderCluster } from './client.js'
import { isOffsetOutOfRange, isStaleMetadata } from './kafka-errors.js'
import { READ_COMMITTED, type FetchedPartition, type FetchedRecord, type InternalBroker, type InternalCluster } from './kafkajs-internals.js'
import type { ResolvedKafkaJobLogInit } from './options.js'
import { decodeEntry, type KafkaLogEntry } from './record-codec.js'

const LATEST = -1
const EARLIEST = -2
/** The first window lastEpoch searches back from the end; it grows eightfold while it finds only markers or aborted records. */
const TAIL_WINDOW = 16

export class CommittedReader {
  private cluster: Promise<InternalCluster> | undefined
  /** Records without our epoch header seen so far, reported through the logger. */
  foreignRecords = 0

  constructor(
    private readonly init: ResolvedKafkaJobLogInit,
    private readonly clientId: string,
  ) {}

  /** Up to `max` committed entries at or after `from`, stopping before `until`; fence markers only when `withFences`. */
  async entries(from: number, max: number, signal: AbortSignal, options: { withFences: boolean; until?: number }): Promise<KafkaLogEntry[]> {
    const until = options.until ?? Infinity
    const out: KafkaLogEntry[] = []
    let position = from
    while (out.length < max && position < until) {
      if (signal.aborted) throw abortError(signal)
      const partition = await this.fetch(position, signal)
      if (partition === undefined) break
      const stable = Number(partition.lastStableOffset)
      let last = -1
      for (const record of committed(partition, position)) {
        last = Number(record.offset)
        if (last >= until || out.length >= max) break
        const entry = decodeEntry(record)
        if (entry === undefined) this.foreignRecords++
        else if (options.withFences || !entry.fence) out.push(entry)
      }
      const fetchedEnd = lastOffset(partition.messages)
      if (fetchedEnd < position) break
      position = Math.max(fetchedEnd, last) + 1
      if (position >= stable) break
    }
    return out
  }

  /** The last stable offset: one past the last offset a read_committed reader can see. */
  async endOffset(signal: AbortSignal): Promise<number> {
    return this.listOffset(LATEST, signal)
  }

  /** The first committed entry of the log (fence markers included), if any. */
  async firstEntry(signal: AbortSignal): Promise<KafkaLogEntry | undefined> {
    const start = await this.listOffset(EARLIEST, signal)
    return (await this.entries(start, 1, signal, { withFences: true }))[0]
  }

  /** The highest epoch of any committed record or fence marker, searching back from the end; 0 for an empty log. */
  async lastEpoch(signal: AbortSignal): Promise<number> {
    const start = await this.listOffset(EARLIEST, signal)
    let until = await this.listOffset(LATEST, signal)
    for (let window = TAIL_WINDOW; until > start; window *= 8) {
      const from = Math.max(start, until - window)
      const found = await this.entries(from, Infinity, signal, { withFences: true, until })
      if (found.length > 0) return found.reduce((max, e) => Math.max(max, e.epoch), 0)
      until = from
    }
    return 0
  }

  /** Drops the connection; the next call reconnects. */
  async reset(): Promise<void> {
    const cluster = this.cluster
    this.cluster = undefined
    await cluster?.then((c) => c.disconnect()).catch(() => {})
  }

  /** The partition's data from `position`, or undefined when `position` is past the end. */
  private async fetch(position: number, signal: AbortSignal): Promise<FetchedPartition | undefined> {
    const request = (broker: InternalBroker) =>
      broker.fetch({
        isolationLevel: READ_COMMITTED,
        maxWaitTime: 0,
        minBytes: 1,
        maxBytes: this.init.fetchMaxBytes,
        topics: [{ topic: this.init.topic, partitions: [{ partition: 0, fetchOffset: String(position), maxBytes: this.init.fetchMaxBytes }] }],
      })
    try {
      const response = await this.withLeader(request, signal)
      return response.responses[0]?.partitions[0]
    } catch (error) {
      if (!isOffsetOutOfRange(error)) throw error
      // Below the log start (retention removed it) or past the end: only the first can be read on from.
      const start = await this.listOffset(EARLIEST, signal)
      return position < start ? this.fetch(start, signal) : undefined
    }
  }

  private async listOffset(timestamp: number, signal: AbortSignal): Promise<number> {
    const response = await this.withLeader(
      (broker) => broker.listOffsets({ isolationLevel: READ_COMMITTED, topics: [{ topic: this.init.topic, partitions: [{ partition: 0, timestamp }] }] }),
      signal,
    )
    const offset = response.responses[0]?.partitions[0]?.offset
    if (offset === undefined) throw new Error(`no offsets returned for ${this.init.topic}`)
    return Number(offset)
  }

  /** Runs `request` on the partition leader; refreshes metadata once if it was stale; resets on failure. */
  private async withLeader<T>(request: (broker: InternalBroker) => Promise<T>, signal: AbortSignal): Promise<T> {
    try {
      const cluster = await this.connected()
      try {
        return await request(await this.leader(cluster))
      } catch (error) {
        if (!isStaleMetadata(error) || signal.aborted) throw error
        await cluster.refreshMetadata()
        return await request(await this.leader(cluster))
      }
    } catch (error) {
      if (!isOffsetOutOfRange(error)) await this.reset()
      throw error
    }
  }

  private async leader(cluster: InternalCluster): Promise<InternalBroker> {
    const nodeId = Object.keys(cluster.findLeaderForPartitions(this.init.topic, [0]))[0]
    if (nodeId === undefined) throw Object.assign(new Error(`no leader for ${this.init.topic}/0`), { code: 5 })
    return cluster.findBroker({ nodeId })
  }

  private connected(): Promise<InternalCluster> {
    this.cluster ??= (async () => {
      const cluster = createReaderCluster(this.init, this.clientId)
      await cluster.connect()
      await cluster.addTargetTopic(this.init.topic)
      return cluster
    })()
    return this.cluster
  }
}

/** The offset of the last record fetched, control records included; -1 when none. */
function lastOffset(records: readonly FetchedRecord[]): number {
  const last = records[records.length - 1]
  return last === undefined ? -1 : Number(last.offset)
}

/**
 * The data records of committed transactions (and non-transactional ones) at or after `from`.
 * An aborted transaction starts at the first offset the broker lists for its producer and ends at
 * that producer's abort marker; its records in between are dropped.
 */
function* committed(partition: FetchedPartition, from: number): Generator<FetchedRecord> {
  const aborted = [...partition.abortedTransactions].sort((a, b) => Number(a.firstOffset) - Number(b.firstOffset))
  const open = new Set<string>()
  let next = 0
  for (const record of partition.messages) {
    const offset = Number(record.offset)
    while (next < aborted.length && Number(aborted[next]!.firstOffset) <= offset) open.add(aborted[next++]!.producerId)
    const producer = record.batchContext.producerId
    if (record.isControlRecord) {
      if (isAbortMarker(record)) open.delete(producer)
      continue
    }
    if (offset < from || (record.batchContext.inTransaction && open.has(producer))) continue
    yield record
  }
}

/** A control record's key is (version: int16, type: int16); type 0 is ABORT, 1 is COMMIT. */
function isAbortMarker(record: FetchedRecord): boolean {
  return record.key !== null && record.key.length >= 4 && record.key.readInt16BE(2) === 0
}
