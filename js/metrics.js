'use strict'
// What this worker publishes for /metrics, on its own schedule, into memory the core reads
// at scrape time (crates/spindle-core/src/metrics/published.rs): a scrape never waits on
// this thread, and when its loop is stuck the last figures stay, marked stale.
//
// - Runtime figures, every `runtimeIntervalMs`: event-loop lag and delay percentiles, GC
//   pauses by kind, active handles/requests/resources, external memory, heap spaces. The
//   names and figures are prom-client's default metrics; the core renders them.
// - The app's own metrics, every `appIntervalMs`: when the app has prom-client installed,
//   `globalThis.platformatic.prometheus` is `{ client, registry }` (as Watt's
//   getPrometheus() returns), the registry being prom-client's default one, and its text is
//   published. Without prom-client the field stays unset.
//
// Both timers are unref'd: they never keep a finished worker alive.

const { createRequire } = require('node:module')
const path = require('node:path')
const { monitorEventLoopDelay, PerformanceObserver, constants } = require('node:perf_hooks')
const v8 = require('node:v8')

// prom-client's buckets for nodejs_gc_duration_seconds (GC_BUCKETS in published.rs).
const GC_BUCKETS = [0.001, 0.01, 0.1, 1, 2, 5]
const GC_KINDS = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb'
}

/**
 * Starts publishing through `link` (the worker's WorkerLink) and returns the fields of
 * `globalThis.platformatic` it provides: `{ prometheus }` when the app in `dir` has
 * prom-client, else `{}`. A failure to publish is logged once per kind with `logger`.
 */
function start ({ link, dir, runtimeIntervalMs, appIntervalMs, logger }) {
  const warned = new Set()
  const warn = (kind, message) => {
    if (warned.has(kind)) return
    warned.add(kind)
    logger.warn(message)
  }
  publishRuntime(link, runtimeIntervalMs || 1000, warn)
  const client = promClient(dir, warn)
  if (!client) return {}
  const registry = client.register
  publishApp(link, registry, appIntervalMs || 5000, warn)
  return { prometheus: { client, registry } }
}

function publishRuntime (link, intervalMs, warn) {
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  const gc = {}
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = GC_KINDS[entry.detail ? entry.detail.kind : entry.kind] || 'unknown'
      const seconds = entry.duration / 1000
      const pauses = gc[kind] || (gc[kind] = { count: 0, sum: 0, buckets: GC_BUCKETS.map(() => 0) })
      pauses.count++
      pauses.sum += seconds
      GC_BUCKETS.forEach((le, i) => { if (seconds <= le) pauses.buckets[i]++ })
    }
  })
  observer.observe({ entryTypes: ['gc'] })

  let lag = 0
  const publish = () => {
    try {
      link.runtimeMetrics(JSON.stringify(report(delay, gc, lag)))
    } catch (err) {
      warn('runtime-metrics', `runtime metrics not published: ${err && err.message}`)
    }
    delay.reset()
    // prom-client's nodejs_eventloop_lag_seconds: how late a setImmediate runs, measured
    // now for the next publication (after the report, which would count it as an active
    // resource of the app's).
    const start = process.hrtime.bigint()
    setImmediate(() => { lag = Number(process.hrtime.bigint() - start) / 1e9 })
  }
  setInterval(publish, intervalMs).unref()
}

function report (delay, gc, lag) {
  const memory = process.memoryUsage()
  return {
    lag,
    // No sample in the interval (a fresh histogram reports NaN or huge sentinels).
    delay: delay.count > 0
      ? {
          min: seconds(delay.min),
          max: seconds(delay.max),
          mean: seconds(delay.mean),
          stddev: seconds(delay.stddev),
          p50: seconds(delay.percentile(50)),
          p90: seconds(delay.percentile(90)),
          p99: seconds(delay.percentile(99))
        }
      : null,
    gc,
    handles: countBy(typeof process._getActiveHandles === 'function' ? process._getActiveHandles() : [], constructorName),
    requests: countBy(typeof process._getActiveRequests === 'function' ? process._getActiveRequests() : [], constructorName),
    resources: countBy(typeof process.getActiveResourcesInfo === 'function' ? process.getActiveResourcesInfo() : [], String),
    external: memory.external,
    spaces: v8.getHeapSpaceStatistics().map((s) => ({
      space: s.space_name.replace(/_space$/, ''),
      total: s.space_size,
      used: s.space_used_size,
      available: s.space_available_size
    }))
  }
}

// JSON has no NaN: a figure that is not a number is sent as 0 rather than failing the report.
function seconds (ns) {
  return Number.isFinite(ns) ? ns / 1e9 : 0
}

function constructorName (handle) {
  return (handle && handle.constructor && handle.constructor.name) || 'unknown'
}

function countBy (items, key) {
  const counts = {}
  for (const item of items) {
    const k = key(item)
    counts[k] = (counts[k] || 0) + 1
  }
  return counts
}

// prom-client as the app would load it (from its own node_modules), so the registry the
// app's metrics land in is the one published here. Null when the app does not have it.
function promClient (dir, warn) {
  const requireFromApp = createRequire(path.join(dir, 'package.json'))
  try {
    return requireFromApp('prom-client')
  } catch (err) {
    // Not installed: nothing to say. Installed but failing to load (a missing dependency of
    // its own, a syntax error): say so, or the app's metrics would vanish silently.
    const absent = err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes("'prom-client'")
    if (!absent) {
      warn('prom-client', `prom-client could not be loaded, so the app's metrics are not published: ${err && err.message}`)
    }
    return null
  }
}

function publishApp (link, registry, intervalMs, warn) {
  let busy = false
  const publish = async () => {
    if (busy) return // a slow collect() of the app's: skip a turn rather than pile up
    busy = true
    try {
      link.appMetrics(await registry.metrics())
    } catch (err) {
      warn('app-metrics', `the app's prom-client registry could not be read: ${err && err.message}`)
    } finally {
      busy = false
    }
  }
  setInterval(publish, intervalMs).unref()
}

module.exports = { start }
