// Goal: the bundled libp2p (src/build-bundle.mjs: the vendor module alone, and in the package's
// bundles) costs each peer no more memory than it must:
// - its source is ASCII, so V8 holds it as a one-byte string (a few non-Latin-1 letters in comments
//   made the 1.1 MB bundle a 2.3 MB two-byte string in every peer's heap);
// - it calls no localeCompare, whose first call loads ICU's collator (2.4 MB of the node binary's
//   pages in every peer's RSS), and sorts as before where it sorted: by UTF-16 code units;
// - prom-client and commander are in the package's bundles, not loaded file by file.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { transformSync } from 'esbuild'
import { ROOT } from '../../helpers/paths.js'

test('the vendor bundle and the package bundles are ASCII, call no localeCompare, and hold prom-client and commander', { timeout: 120_000 }, async () => {
  // A build directory inside the checkout (the packages resolve from its node_modules) holding
  // what tsc emits for the vendor module, which build-bundle.mjs then bundles in place.
  const build = join(ROOT, 'test', 'artifacts', `vendor-bundle-${process.pid}`)
  const dir = join(build, 'src', 'adapters', 'libp2p')
  mkdirSync(dir, { recursive: true })
  try {
    for (const name of ['vendor', 'polyfill']) {
      const source = readFileSync(join(ROOT, 'src', 'adapters', 'libp2p', `${name}.ts`), 'utf8')
      writeFileSync(join(dir, `${name}.js`), transformSync(source, { loader: 'ts', format: 'esm' }).code)
    }
    execFileSync(process.execPath, [join(ROOT, 'src', 'build-bundle.mjs'), build], { stdio: 'inherit' })
    const chunks = join(build, 'src', 'bundle')
    const files = [
      join(dir, 'vendor.js'),
      join(build, 'src', 'index.js'),
      join(build, 'src', 'cli', 'main.js'),
      ...readdirSync(chunks)
        .filter((f) => f.endsWith('.js'))
        .map((f) => join(chunks, f)),
    ]
    const libp2p = files.filter((f) => readFileSync(f, 'utf8').includes('/yamux/1.0.0'))
    assert.ok(libp2p.length >= 2, `libp2p is in the vendor module and in a chunk of the package: ${libp2p.join(', ')}`)
    for (const file of files) {
      const wide = [...readFileSync(file, 'utf8')].filter((c) => c.charCodeAt(0) > 0x7f)
      assert.deepEqual(wide, [], `characters beyond ASCII in ${file}`)
    }
    for (const file of libp2p) assert.equal(readFileSync(file, 'utf8').match(/\.localeCompare\(/g), null, `localeCompare calls in ${file}`)
    // prom-client and commander are bundled in (each is dozens of small files a peer would load one by one).
    const packageImports = files.flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/(?:from|import|require\()\s*["'](prom-client|commander|@opentelemetry\/api)["'/]/g)].map((m) => `${m[1]!} in ${f}`),
    )
    assert.deepEqual(packageImports, [])
    assert.ok(
      files.some((f) => readFileSync(f, 'utf8').includes('process_cpu_user_seconds_total')),
      'prom-client is in a chunk',
    )
    const bundle = readFileSync(join(dir, 'vendor.js'), 'utf8')
    assert.ok(bundle.length > 500_000, `bundled: ${bundle.length} characters`)
    // The rewritten comparison orders as the code units do (as Array.prototype.sort's default).
    const compare = new Function(`${/function compareCodeUnits\(a, b\) \{[^}]*\}/.exec(bundle)?.[0]}; return compareCodeUnits`)() as (a: string, b: string) => number
    const addresses = ['/ip4/10.0.0.2/tcp/7400', '/dns4/b.example/tcp/1', '/ip4/10.0.0.10/tcp/7400', '/ip6/::1/tcp/7400', '/IP4/x']
    assert.deepEqual([...addresses].sort(compare), [...addresses].sort())
  } finally {
    rmSync(build, { recursive: true, force: true })
  }
})
