// Goal: the shipped Prometheus rules are valid, unchanged from their source, and every alert is
// unit-tested with promtool (fires on its condition, silent without it).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { ALERT_RULES, RECORDING_RULES, renderRules } from '../../src/monitoring/rules.js'
import { sourceDir } from '../helpers/paths.js'

const run = promisify(execFile)
const ROOT = join(sourceDir(import.meta.dirname), '..', '..')
const RULES = join(ROOT, 'src', 'monitoring', 'distributex.rules.yml')
const TESTS = join(sourceDir(import.meta.dirname), 'alerts.promtest.yml')

test('the committed rules file is the one src/monitoring/rules.ts renders', () => {
  assert.equal(readFileSync(RULES, 'utf8'), renderRules(), 'regenerate with: node src/cli/bin.mjs monitoring rules > src/monitoring/distributex.rules.yml')
})

test('promtool check rules accepts the rules file', { timeout: 30_000 }, async () => {
  const { stdout } = await run('promtool', ['check', 'rules', RULES])
  assert.match(stdout, new RegExp(`SUCCESS: ${RECORDING_RULES.length + ALERT_RULES.length} rules found`))
})

test('every alert has a promtool case where it fires', () => {
  const text = readFileSync(TESTS, 'utf8')
  for (const rule of ALERT_RULES) {
    const firing = new RegExp(`alertname: ${rule.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`)
    assert.match(text, firing, `${rule.alert} has no firing case in ${TESTS}`)
  }
})

test('promtool test rules passes every case', { timeout: 60_000 }, async () => {
  const result = await run('promtool', ['test', 'rules', TESTS]).catch((error: { stdout?: string; stderr?: string }) => ({
    stdout: error.stdout ?? '',
    stderr: error.stderr ?? '',
    failed: true,
  }))
  assert.ok(!('failed' in result), `promtool test rules failed:\n${result.stdout}\n${result.stderr}`)
  assert.match(result.stdout + result.stderr, /SUCCESS/)
})
