'use strict'
// The CommonJS entry (`require('distributex/client')`): the package is an ES module build, which Node
// 20.19+ and 22.12+ load synchronously with require(). createRequire(__filename) rather than the
// module's own `require` so that a TypeScript loader that compiled the caller (tsx, for a job module
// in a CommonJS project) does not also compile the ES build to CommonJS, which breaks on
// dependencies that publish only ES modules.
const { createRequire } = require('node:module')

try {
  module.exports = createRequire(__filename)('../client/index.js')
} catch (error) {
  if (error && error.code === 'ERR_REQUIRE_ESM') {
    throw new Error(`distributex is an ES module package: require() of it needs Node.js 20.19+ or 22.12+ (this is ${process.version}); use import() or upgrade`, { cause: error })
  }
  throw error
}
