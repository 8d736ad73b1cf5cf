'use strict'
// The JS main thread of a Spindle process: a thin thread factory. It creates and ends
// Worker threads when the Rust core asks, reports their exits, and owns signals. It runs
// no user code and carries no traffic.

const { Worker } = require('node:worker_threads')
const path = require('node:path')

const WORKER_JS = path.join(__dirname, 'worker.js')

function parseArgs (argv) {
  const opts = { dir: process.cwd(), config: undefined, pretty: false, dev: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--dir') opts.dir = argv[++i]
    else if (arg === '--config') opts.config = argv[++i]
    else if (arg === '--pretty') opts.pretty = true
    else if (arg === '--dev') opts.dev = true
    else throw new Error(`unknown argument ${arg}`)
  }
  return opts
}

function loadAddon (file) {
  if (!file) throw new Error('SPINDLE_ADDON is not set: start Spindle with the spindle command')
  const mod = { exports: {} }
  process.dlopen(mod, file)
  return mod.exports
}

const addonPath = process.env.SPINDLE_ADDON
let addon
try {
  addon = loadAddon(addonPath)
} catch (err) {
  process.stderr.write(`spindle: error: cannot load the addon: ${err.message}\n`)
  process.exit(69)
}
const workers = new Map()

function spawn (spec) {
  const worker = new Worker(WORKER_JS, {
    name: spec.id,
    env: spec.env,
    argv: spec.argv,
    // Empty keeps Node's default (the process's own execArgv).
    execArgv: spec.execArgv.length > 0 ? spec.execArgv : undefined,
    resourceLimits: spec.resourceLimits,
    workerData: {
      id: spec.id,
      app: spec.app,
      index: spec.index,
      entrypoint: spec.entrypoint,
      basePath: spec.basePath,
      logLevel: spec.logLevel,
      dir: spec.dir,
      entry: spec.entry,
      serve: spec.serve,
      socket: spec.socket,
      meshSocket: spec.meshSocket,
      addon: addonPath,
      sampleIntervalMs: spec.sampleIntervalMs,
      runtimeMetricsIntervalMs: spec.runtimeMetricsIntervalMs,
      appMetricsIntervalMs: spec.appMetricsIntervalMs,
      exitOnUnhandledErrors: spec.exitOnUnhandledErrors,
      startTimeoutMs: spec.startTimeoutMs
    }
  })
  let failure = null
  worker.on('error', (err) => { failure = err })
  worker.on('exit', (code) => {
    workers.delete(spec.id)
    addon.workerExited(spec.id, code, failure ? describe(failure) : null)
  })
  workers.set(spec.id, worker)
}

function describe (err) {
  if (err && typeof err === 'object') {
    const code = err.code ? ` [${err.code}]` : ''
    return `${err.stack || err.message || String(err)}${code}`
  }
  return String(err)
}

function stop (id, graceMs) {
  const worker = workers.get(id)
  if (!worker) return
  worker.postMessage({ type: 'spindle:stop' })
  // The app had its chance to close; a worker still there after the grace period is ended.
  setTimeout(() => worker.terminate(), graceMs).unref()
}

function onCommand (json) {
  const cmd = JSON.parse(json)
  try {
    run(cmd)
  } catch (err) {
    // An exception here would end the whole process; report it as that worker's failure.
    const id = cmd.id || (cmd.spec && cmd.spec.id)
    if (id) addon.workerExited(id, 1, `spindle could not ${cmd.op} the worker: ${describe(err)}`)
    else throw err
  }
}

// One case per `Command` of crates/spindle-node/src/host.rs, which writes this JSON.
function run (cmd) {
  switch (cmd.op) {
    case 'spawn': return spawn(cmd.spec)
    case 'stop': return stop(cmd.id, cmd.graceMs)
    case 'terminate': { const w = workers.get(cmd.id); if (w) w.terminate(); return }
    case 'exit':
      addon.close()
      process.exit(cmd.code)
  }
}

const opts = parseArgs(process.argv.slice(2))
let started
try {
  started = addon.start({ config: opts.config, dir: opts.dir, pretty: opts.pretty, dev: opts.dev, nodeVersion: process.version }, onCommand)
} catch (err) {
  process.stderr.write(`spindle: error: ${err.message}\n`)
  process.exit(70)
}
// With TLS on the public port, SIGHUP reloads its certificates (as nginx does). Without
// it SIGHUP keeps Node's default (the process ends), so closing the terminal of a
// foreground server still stops it.
if (started.tls) process.on('SIGHUP', () => addon.reloadCertificates())

let draining = false
function onSignal (signal) {
  if (!draining) {
    draining = true
    addon.shutdown()
    return
  }
  // A second Ctrl-C means "now". A repeated SIGTERM does not: supervisors and `timeout`
  // may deliver it twice, and the drain has its own deadline.
  if (signal === 'SIGINT') {
    process.stderr.write('spindle: interrupted again, exiting without waiting for requests\n')
    addon.close()
    process.exit(130)
  }
}
process.on('SIGTERM', onSignal)
process.on('SIGINT', onSignal)
// Watt's convention: SIGUSR2 restarts every app, worker by worker, without downtime.
process.on('SIGUSR2', () => addon.restart(null))
