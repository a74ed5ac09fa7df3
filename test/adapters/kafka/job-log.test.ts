// Goal: the Kafka job log meets the JobLog contract against a real broker (started on demand by
// test/helpers/services.ts). Method: the shared suite, each test on a fresh topic and cluster name.
import { KafkaJobLog } from '../../../src/adapters/kafka/job-log.js'
import { ensureKafka } from '../../helpers/services.js'
import { jobLogSuite } from '../../storage/job-log.suite.js'
import { deleteTopics, freshKafkaJobLog } from './kafka-test-env.js'

jobLogSuite('KafkaJobLog', {
  contiguousOffsets: false,
  timeoutMs: 120_000,
  setup: () => freshKafkaJobLog(),
  async teardown(log) {
    await (log as KafkaJobLog).close()
    await deleteTopics(await ensureKafka(), [(log as KafkaJobLog).topic])
  },
})
