// The last step of `npm run build` (and of test/run.mjs's test build), in two passes. Usage:
// node src/build-bundle.mjs [build directory, default dist].
//
// 1. The libp2p vendor module (<build>/src/adapters/libp2p/vendor.js, re-exports of the packages)
//    becomes one bundled file holding those packages and what they import, so a peer loads one
//    module where it loaded about 450 (see vendor.ts). The packages stay dependencies: the type
//    declarations refer to them. A file already bundled (an incremental build that did not emit
//    vendor.js again) is left as it is.
// 2. The package's own entry points (the API, the client, the simulator and the CLI's main) become
//    bundles sharing chunks, so a peer loads 52 modules instead of 215 (packages and built-ins
//    included): 16-21% less CPU to start and 2.5-3 MB less RSS per peer (test/bench/RESULTS.md,
//    "boot"). Shared chunks, not one bundle per entry, so that a job module importing
//    'distributex' in a peer gets the very module instances the CLI runs (one JobDef, one error
//    class per name). The other compiled files stay for the type declarations and the tests, which
//    import modules one by one.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const OUT = resolve(process.argv[2] ?? resolve(ROOT, 'dist'))

const BANNER = "import { createRequire as vendorRequire } from 'node:module'; const require = vendorRequire(import.meta.url);"
// libp2p's peer store sorts addresses, protocols and keys with localeCompare, whose first call
// loads ICU's collator: 2.4 MB of the node binary's pages (collation data and code) in each peer's
// RSS. The order only has to be the same at every call (the lists are deduplicated and compared),
// which comparing UTF-16 code units gives. A file that changed so that a call is left is an error.
const codeUnitOrder = {
  name: 'code-unit-order',
  setup(bundle) {
    bundle.onLoad({ filter: /(peer-store\/dist\/src\/utils\/(dedupe-addresses|to-peer-pb)|utils\/dist\/src\/array-equals)\.js$/ }, ({ path }) => {
      const source = readFileSync(path, 'utf8')
      const contents = source.replace(/([\w.]+(?:\(\))?)\.localeCompare\(([\w.]+(?:\(\))?)\)/g, 'compareCodeUnits($1, $2)')
      if (contents === source || contents.includes('localeCompare')) throw new Error(`${path}: a localeCompare call the build does not rewrite`)
      return { contents: `${contents}\nfunction compareCodeUnits(a, b) { return a < b ? -1 : a > b ? 1 : 0 }\n`, loader: 'js' }
    })
  },
}

// esbuild escapes non-ASCII characters in strings and identifiers but not in comments, and a few in
// @noble/curves' comments (mathematical italic letters) made V8 hold the whole source as a
// two-byte string: 2.3 MB of every peer's heap instead of 1.1. An escape is what esbuild would
// write anywhere else, and in a comment it changes nothing.
const ascii = (text) => text.replace(/[^\x00-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`)

// What both passes share. A bundled CommonJS module may require() a Node built-in; an ES module has
// no require of its own, hence the banner.
const COMMON = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.15',
  banner: { js: BANNER },
  legalComments: 'inline',
  logLevel: 'warning',
  write: false,
}

const file = resolve(OUT, 'src', 'adapters', 'libp2p', 'vendor.js')
if (!readFileSync(file, 'utf8').startsWith(BANNER)) {
  const { outputFiles } = await build({
    ...COMMON,
    entryPoints: [file],
    outfile: file,
    allowOverwrite: true,
    plugins: [codeUnitOrder],
  })
  writeFileSync(file, ascii(outputFiles[0].text))
}

// Pass 2, from the TypeScript sources (esbuild compiles them as tsc does under isolatedModules), so
// that an incremental test build, where tsc re-emits only what changed, never bundles stale output.
// Packages stay external, but for libp2p and what it imports, bundled in as in pass 1, and the
// packages every peer loads as many small CommonJS files: prom-client (with @opentelemetry/api, 44
// files resolved, read and compiled one by one) and commander. Both in, a founder's start took 7-14%
// less CPU (test/bench/RESULTS.md, "bundled metrics"). The runtime's metrics live in a registry of
// its own, so a job module's own prom-client instance never shared them anyway.
const ENTRIES = ['src/index.ts', 'src/client/index.ts', 'sim/index.ts', 'src/cli/main.ts']
const CHUNKS = 'src/bundle'
const libp2pImporter = /[\\/](node_modules[\\/]|src[\\/]adapters[\\/]libp2p[\\/](vendor|polyfill)\.ts$)/
const bundledPackages = /^(prom-client|commander)(\/|$)/
const ownPackagesExternal = {
  name: 'own-packages-external',
  setup(bundle) {
    bundle.onResolve({ filter: /^[^./]/ }, ({ path, importer }) => (libp2pImporter.test(importer) || bundledPackages.test(path) ? undefined : { external: true }))
  },
}
rmSync(resolve(OUT, CHUNKS), { recursive: true, force: true })
const { outputFiles } = await build({
  ...COMMON,
  absWorkingDir: ROOT,
  entryPoints: ENTRIES,
  outdir: OUT,
  outbase: '.',
  chunkNames: `${CHUNKS}/[name]-[hash]`,
  splitting: true,
  // V8 keeps every module's source in the heap: without the whitespace, 0.5-1.2 MB less RSS per
  // peer. Names stay (stack traces keep them), and `node --enable-source-maps` maps positions back
  // to the TypeScript sources.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  plugins: [ownPackagesExternal, codeUnitOrder],
})
for (const { path, text } of outputFiles) {
  // Code that finds files next to its own (the dashboard's assets, the CLI's bin.mjs) does so from
  // src/<folder>/, which the chunks' folder is; an entry elsewhere must not hold such code.
  const depth = relative(OUT, dirname(path)).split(sep)
  if (path.endsWith('.js') && /import\.meta\.(url|dirname)/.test(text.slice(BANNER.length)) && !(depth.length === 2 && depth[0] === 'src')) {
    throw new Error(`${path}: code that reads import.meta outside src/<folder>/, where its relative paths break`)
  }
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, ascii(text))
}
