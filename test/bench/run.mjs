#!/usr/bin/env node
// Runs one benchmark: `npm run bench -- NAME [args...]` executes test/bench/NAME.ts under tsx.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const [name, ...args] = process.argv.slice(2)
const available = readdirSync(here).filter((f) => f.endsWith('.ts') && !f.startsWith('_')).map((f) => f.slice(0, -3))
if (name === undefined || !existsSync(join(here, `${name}.ts`))) {
  console.error(`usage: npm run bench -- <name>; available: ${available.join(', ')}`)
  process.exit(2)
}
const result = spawnSync(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`), ...args], { stdio: 'inherit' })
process.exit(result.status ?? 1)
