#!/usr/bin/env node
// The `distributex` executable. In a checkout it runs the TypeScript sources through tsx, so
// development needs no build step and never runs a stale build; in an installed package (built by
// `npm run build`, sources not shipped) it runs the compiled JavaScript next to it.
import { existsSync } from 'node:fs'

const sources = existsSync(new URL('./main.ts', import.meta.url))
if (sources) (await import('tsx/esm/api')).register()
const { main } = await import(sources ? './main.ts' : './main.js')
process.exitCode = await main(process.argv.slice(2))
