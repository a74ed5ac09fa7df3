/**
 * Node 20 support for libp2p 2.x. libp2p's peer store locks through it-queue, which calls
 * `Promise.withResolvers` (Node 22+) on every write and at `stop()`. This module installs a
 * standard-conforming fallback when the runtime lacks one; it must be imported before any libp2p
 * code runs, so every module of this folder that starts libp2p imports it first. It changes nothing
 * on runtimes that already have the method.
 */

interface Resolvers<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

type PromiseWithResolvers = PromiseConstructor & { withResolvers?: <T>() => Resolvers<T> }

function withResolvers<T>(this: PromiseConstructor): Resolvers<T> {
  let resolve!: Resolvers<T>['resolve']
  let reject!: Resolvers<T>['reject']
  // `this` keeps subclass semantics, as the standard method does.
  const promise = new this<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

const target = Promise as PromiseWithResolvers
if (typeof target.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', { value: withResolvers, writable: true, configurable: true, enumerable: false })
}
