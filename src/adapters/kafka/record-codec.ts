/**
 * How job-log records sit in Kafka: the payload is the record value, untouched; the appending
 * leader's epoch travels in a `dx-epoch` header (decimal), and a fence marker (written by `fence`,
 * so that the log itself shows which epoch claimed it) carries `dx-kind: fence`, the fencing
 * cluster's identity in `dx-cluster` (so the log shows which cluster created it) and no payload.
 * Records without a valid epoch header were not written by a job log and are not ours.
 */
import type { Message } from 'kafkajs'
import type { FetchedRecord } from './kafkajs-internals.js'

const EPOCH_HEADER = 'dx-epoch'
const KIND_HEADER = 'dx-kind'
const FENCE_KIND = 'fence'
const CLUSTER_HEADER = 'dx-cluster'
const EMPTY = Buffer.alloc(0)

/** A decoded job-log record; `fence` marks a fence marker, which readers of the log skip. */
export interface KafkaLogEntry {
  readonly offset: number
  readonly epoch: number
  readonly fence: boolean
  readonly payload: Uint8Array
  /** On a fence marker: the cluster that wrote it (absent on markers of logs older than the header). */
  readonly cluster?: string
}

/** The messages of one append, all in partition 0. */
export function dataMessages(epoch: number, payloads: readonly Uint8Array[]): Message[] {
  const headers = { [EPOCH_HEADER]: String(epoch) }
  return payloads.map((p) => ({ partition: 0, value: Buffer.from(p.buffer, p.byteOffset, p.byteLength), headers }))
}

/** The marker a fence writes. */
export function fenceMessage(epoch: number, clusterId: string | undefined): Message {
  return { partition: 0, value: EMPTY, headers: { [EPOCH_HEADER]: String(epoch), [KIND_HEADER]: FENCE_KIND, ...(clusterId === undefined ? {} : { [CLUSTER_HEADER]: clusterId }) } }
}

/** The byte size a message adds to a request, near enough for batching bounds. */
export function messageBytes(message: Message): number {
  return (message.value instanceof Buffer ? message.value.length : 0) + 32
}

/** Decodes a fetched data record, or returns undefined for one without our epoch header. */
export function decodeEntry(record: FetchedRecord): KafkaLogEntry | undefined {
  const epochHeader = single(record.headers[EPOCH_HEADER])
  if (epochHeader === undefined) return undefined
  const epoch = Number(epochHeader.toString('latin1'))
  if (!Number.isSafeInteger(epoch) || epoch < 0) return undefined
  const kind = single(record.headers[KIND_HEADER])
  const fence = kind !== undefined && kind.toString('latin1') === FENCE_KIND
  const cluster = fence ? single(record.headers[CLUSTER_HEADER])?.toString('utf8') : undefined
  return { offset: Number(record.offset), epoch, fence, payload: record.value ?? EMPTY, ...(cluster === undefined ? {} : { cluster }) }
}

function single(header: Buffer | Buffer[] | undefined): Buffer | undefined {
  return Array.isArray(header) ? header[0] : header
}
