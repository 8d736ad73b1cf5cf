'use strict'
// `globalThis.platformatic`, as Watt sets it in every worker: apps written for Watt read
// their id, logger and lifecycle events from it, directly or through the npm package
// `@platformatic/globals`. That package's getters throw unless the field's name is in the
// Set under Symbol.for('plt.globals.fields'), so every field set here is registered there
// too; a field Spindle has no meaning for stays unset, and its getter says "not available".

const { EventEmitter } = require('node:events')
const { pathToFileURL } = require('node:url')
const { threadId } = require('node:worker_threads')
const { createLogger } = require('./logger')

const kFields = Symbol.for('plt.globals.fields')

// Watt forwards `emitAndNotify` events to its runtime too; Spindle's core has no listener
// for app events, so they stay in the worker.
class PlatformaticEvents extends EventEmitter {
  emitAndNotify (event, ...args) {
    return this.emit(event, ...args)
  }
}

/**
 * Sets the globals of this worker and returns the hooks its lifecycle calls.
 *
 * - `app`, `index`: the application id and the worker's number (the `n` of `app:n`).
 * - `dir`: the application's directory.
 * - `isEntrypoint`: whether it is the app that gets the public port's unrouted traffic.
 * - `basePath`: the `server.routes` prefix the app is mounted at, or null.
 * - `logLevel`: the configured `logger.level`.
 * - `write`: where log lines go (the worker's stdout pipe to the core).
 */
function install ({ app, index, dir, isEntrypoint, basePath, logLevel, exitOnUnhandledErrors, write }) {
  const logger = createLogger({ name: app, level: logLevel, write })
  const events = new PlatformaticEvents()
  const mounted = basePath ? withTrailingSlash(basePath) : undefined
  const warned = new Set()
  const warnOnce = (name, why) => {
    if (warned.has(name)) return
    warned.add(name)
    logger.warn(`${name}() has no effect in Spindle: ${why}`)
  }
  const ignored = (name, why) => function () { warnOnce(name, why) }

  const platformatic = update({
    applicationId: app,
    workerId: index,
    // A file URL, as Watt gives it.
    root: pathToFileURL(dir).href,
    isEntrypoint,
    // Watt's form: the prefix with a trailing slash, undefined when the app is not mounted
    // under one.
    basePath: mounted,
    // Watt's top-level `basePath`, which Spindle's config does not take.
    runtimeBasePath: null,
    logger,
    logLevel: logger.level,
    events,
    closing: false,
    exitOnUnhandledErrors,
    runtimeId: threadId,
    setBasePath (path) {
      const asked = withTrailingSlash(`/${String(path)}`.replace(/\/+/g, '/'))
      if (asked !== (mounted ?? '/')) {
        warnOnce('setBasePath', `an app is mounted under a path by "server.routes" in the config (here ${mounted ? JSON.stringify(mounted) : 'at the root'}), not by the app`)
      }
      platformatic.basePath = asked
    },
    setCustomHealthCheck: ignored('setCustomHealthCheck', 'a worker\'s health is judged from outside its thread (event-loop stalls, utilization, heap); see docs/health.md'),
    setCustomReadinessCheck: ignored('setCustomReadinessCheck', 'an app is ready when one of its workers is serving; see docs/health.md'),
    setOpenapiSchema: ignored('setOpenapiSchema', 'it feeds the schema of Watt\'s gateway, which Spindle does not run'),
    setGraphqlSchema: ignored('setGraphqlSchema', 'it feeds the schema of Watt\'s gateway, which Spindle does not run'),
    setConnectionString: ignored('setConnectionString', 'it is for Watt\'s db capability, which Spindle does not run')
  })

  // Watt emits `exit` as the worker ends.
  process.once('exit', () => events.emit('exit'))

  return {
    /**
     * The worker was asked to stop: `closing` turns true and `close` listeners run, before
     * the app's own close() and its server's. A listener's promise is awaited (the stop's
     * grace period bounds the wait); a failing listener is logged and the stop goes on.
     */
    async stopping () {
      platformatic.closing = true
      const pending = events.rawListeners('close').map((listener) => {
        try {
          return Promise.resolve(listener.call(events))
        } catch (err) {
          return Promise.reject(err)
        }
      })
      for (const result of await Promise.allSettled(pending)) {
        if (result.status === 'rejected') {
          logger.error({ err: result.reason }, 'a "close" listener failed')
        }
      }
    }
  }
}

// Like the package's own `updateGlobals`: keeps fields set before (a preload may set some)
// and registers every name for the getters.
function update (fields) {
  const platformatic = globalThis.platformatic ?? (globalThis.platformatic = {})
  const names = platformatic[kFields] ?? (platformatic[kFields] = new Set())
  for (const [name, value] of Object.entries(fields)) {
    platformatic[name] = value
    names.add(name)
  }
  return platformatic
}

function withTrailingSlash (path) {
  return path.endsWith('/') ? path : `${path}/`
}

module.exports = { install, update }
