// Goal: the replicator's metrics read its counts and the current core's figures at scrape time, and
// the gauges read zero while there is no core (the log is reopened). Method: MemoryMetrics.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryMetrics } from '../../src/env/metrics.js'
import { registerReplicationMetrics, ReplicationCounts } from '../../src/replication/metrics.js'

test('counts and figures are read at scrape time', () => {
  const metrics = new MemoryMetrics()
  const counts = new ReplicationCounts()
  let figures: { commitEnd: number; durable: number } | undefined = undefined
  registerReplicationMetrics(metrics, counts, () => figures)
  assert.equal(metrics.read('dx_replication_commit_index'), 0)
  assert.equal(metrics.read('dx_replication_log_end'), 0)
  counts.framesSent = 3
  counts.framesReceived = 4
  counts.writes = 5
  counts.failures = 1
  counts.invalidFrames = 2
  figures = { commitEnd: 7, durable: 9 }
  assert.equal(metrics.read('dx_replication_frames_sent_total'), 3)
  assert.equal(metrics.read('dx_replication_frames_received_total'), 4)
  assert.equal(metrics.read('dx_replication_log_writes_total'), 5)
  assert.equal(metrics.read('dx_replication_log_failures_total'), 1)
  assert.equal(metrics.read('dx_replication_invalid_frames_total'), 2)
  assert.equal(metrics.read('dx_replication_commit_index'), 7)
  assert.equal(metrics.read('dx_replication_log_end'), 9)
})
