'use strict'
// Runs first in every worker thread: connects the thread to the Rust core, takes the
// app's server as the one that receives this worker's requests, then loads the app
// unchanged. Requests arrive through memory (./vconn.js), not through a socket.

const { workerData, parentPort } = require('node:worker_threads')
const diagnostics = require('node:diagnostics_channel')
const { once } = require('node:events')
const fs = require('node:fs')
const http = require('node:http')
const { pathToFileURL } = require('node:url')
const v8 = require('node:v8')

const { id, app, dir, entry, socket, meshSocket, addon: addonPath, sampleIntervalMs, exitOnUnhandledErrors } = workerData
const addon = (() => { const m = { exports: {} }; process.dlopen(m, addonPath); return m.exports })()
const vconn = require('./vconn')
// The app's http.Server, once it listens: it takes every connection the core opens.
let server = null
const link = vconn.connect(addon, id, () => server)
// The thread's end is reported to the core only after Node has torn down its isolate
// (≈15-20 ms under load); this tells it at once, so it routes elsewhere meanwhile.
process.on('exit', () => link.exiting())

captureOutput()
// Watt's `globalThis.platformatic`, before the app loads: apps read it at import time.
const platformatic = require('./globals').install({
  app,
  index: workerData.index,
  dir,
  isEntrypoint: workerData.entrypoint,
  basePath: workerData.basePath,
  logLevel: workerData.logLevel,
  exitOnUnhandledErrors,
  write: (line) => link.write(1, line)
})
// Runtime figures and the app's prom-client registry, published for /metrics (./metrics.js);
// with prom-client, `globalThis.platformatic.prometheus` too.
require('./globals').update(require('./metrics').start({
  link, dir, runtimeIntervalMs: workerData.runtimeMetricsIntervalMs, appIntervalMs: workerData.appMetricsIntervalMs, logger: globalThis.platformatic.logger
}))
reportHeap()
refuseProcessWideChanges()
const mesh = require('./mesh')
mesh.install(meshSocket)
if (!exitOnUnhandledErrors) keepRunningOnUnhandledErrors()

// The core reads this thread's loop counters itself; the heap it cannot read from
// outside on every Node version, so the worker reports it. The timer also turns the loop
// at least once per interval, so a loop count that stops moving means a stuck loop, not
// an idle one. Unref'd: it never keeps a finished worker alive.
function reportHeap () {
  const report = () => {
    const h = v8.getHeapStatistics()
    link.heap(h.used_heap_size, h.total_heap_size, h.heap_size_limit)
  }
  report()
  setInterval(report, sampleIntervalMs || 250).unref()
}

// The working directory, user, groups and umask belong to the whole process, which every
// app's workers share, so Node refuses to change them from a worker, with a generic
// message. These replacements say which app and worker tried, why it cannot work and what
// to do instead. They keep Node's error class and code: libraries probe chdir and fall back
// on that code.
function refuseProcessWideChanges () {
  const refuse = (caller, call, what, instead) => {
    const err = new TypeError(
      `app "${app}" (worker ${id}) called ${call}, which cannot work in Spindle: each app runs ` +
      `in worker threads, and all threads of a process share its ${what}, which a thread cannot ` +
      `change; ${instead}`
    )
    err.code = 'ERR_WORKER_UNSUPPORTED_OPERATION'
    Error.captureStackTrace(err, caller) // the stack starts at the app's call
    return err
  }
  process.chdir = function chdir (directory) {
    throw refuse(chdir, `process.chdir(${JSON.stringify(String(directory))})`,
      `working directory (here ${process.cwd()})`,
      `resolve the app's files from its own directory (${dir}) with path.join(__dirname, ...) ` +
      'or import.meta.dirname instead')
  }
  for (const name of ['setuid', 'setgid', 'seteuid', 'setegid', 'setgroups', 'initgroups']) {
    if (typeof process[name] !== 'function') continue
    process[name] = function changeIdentity () {
      throw refuse(changeIdentity, `process.${name}()`, 'user and group ids',
        'start spindle as the user the app should run as instead')
    }
  }
  const umask = process.umask
  process.umask = function setUmask (mask) {
    if (mask === undefined) return umask.call(process)
    const shown = typeof mask === 'number' ? `0o${mask.toString(8)}` : JSON.stringify(mask)
    throw refuse(setUmask, `process.umask(${shown})`, 'umask',
      'set it before starting spindle instead (e.g. UMask= in a systemd unit)')
  }
}

function keepRunningOnUnhandledErrors () {
  const log = (kind) => (err) => process.stderr.write(`${kind} (kept running: exitOnUnhandledErrors is false): ${err && err.stack ? err.stack : String(err)}\n`)
  process.on('uncaughtException', log('uncaught exception'))
  process.on('unhandledRejection', log('unhandled rejection'))
}

// Apps like Fastify call listen() only after async setup, so a listen may come after the
// module has loaded; this long is how long we wait for one (Watt's startTimeout).
// startTimeout: how long the app may take, from loading, to listen.
const LISTEN_TIMEOUT_MS = workerData.startTimeoutMs || 30000

let listening = null
let onAdopt = null
const adopted = new Promise((resolve) => { onAdopt = resolve })
diagnostics.tracingChannel('net.server.listen').subscribe({
  start () {},
  end () {},
  asyncEnd () {},
  error () {},
  asyncStart (message) {
    const { options, server: candidate } = message
    // Only the first TCP listen of an HTTP server is the app's; Unix-socket, fd and
    // later listens are left as the app asked. It listens on a private Unix socket that
    // carries no traffic (requests arrive through memory, ./vconn.js): listening for
    // real is what keeps listen()'s callback, 'listening', server.address() and close()
    // exactly as Node has them, on every Node version.
    if (server || !(candidate instanceof http.Server) || options.path || options.fd !== undefined || options.handle) return
    options.path = socket
    delete options.port
    delete options.host
    delete options.reusePort
    delete options.ipv6Only
    adopt(candidate)
  }
})

function adopt (candidate) {
  server = candidate
  onAdopt()
  listening = new Promise((resolve, reject) => {
    candidate.once('listening', resolve)
    candidate.once('error', reject)
  }).then(() => {
    // The only client of this socket is the core's pool: idle connections are its to close.
    candidate.keepAliveTimeout = 0
  })
}

function serve (target) {
  if (target instanceof http.Server) {
    if (!server) { adopt(target); target.listen(socket) }
    return true
  }
  if (typeof target === 'function') {
    adopt(http.createServer(target)); server.listen(socket)
    return true
  }
  if (target && typeof target.callback === 'function') { // Koa
    adopt(http.createServer(target.callback())); server.listen(socket)
    return true
  }
  if (target && target.server instanceof http.Server && typeof target.ready === 'function') { // Fastify
    return target.ready().then(() => serve(target.server))
  }
  return false
}

async function load () {
  let mod
  if (workerData.serve === 'next') {
    // No entry file: Next's own server on the app's build (./next.js).
    mod = await require('./next').load({ app, dir })
  } else {
    try {
      mod = await import(pathToFileURL(entry).href)
    } catch (err) {
      throw withContext(err, `app "${app}" failed to load ${entry}`)
    }
  }
  if (!server) {
    const exported = mod.default ?? mod
    const factory = [mod.create, exported && exported.create, mod.build, exported && exported.build].find((f) => typeof f === 'function')
    const served = factory ? await serve(await factory()) : await serve(exported)
    if (!served && !server) await listenCalled()
  }
  try {
    await listening
  } catch (err) {
    throw withContext(err, `app "${app}" could not listen on its socket`)
  }
  link.ready()
  // For apps that use the undici package without ever calling fetch.
  setImmediate(() => mesh.ensureDispatcher(meshSocket).catch(() => {}))
  parentPort.on('message', (msg) => { if (msg && msg.type === 'spindle:stop') stop(mod) })
}

async function stop (mod) {
  try {
    await platformatic.stopping()
    const close = mod && (mod.close ?? (mod.default && mod.default.close))
    if (typeof close === 'function') await close()
  } finally {
    if (server && server.listening) {
      const closed = once(server, 'close')
      server.close()
      server.closeIdleConnections()
      await closed
    }
    process.exit(0)
  }
}

function listenCalled () {
  let timer
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(
      `app "${app}" (${entry}) did not call listen() within ${LISTEN_TIMEOUT_MS / 1000} s of loading, ` +
      'and exports no http.Server, request handler or create() factory'
    )), LISTEN_TIMEOUT_MS)
  })
  return Promise.race([adopted, timeout]).finally(() => clearTimeout(timer))
}

function withContext (err, context) {
  if (err instanceof Error) {
    // Read before the message changes: V8 formats the stack lazily, from the message.
    const stack = err.stack
    err.message = `${context}: ${err.message}`
    if (stack) err.stack = `${context}: ${stack}`
    return err
  }
  return new Error(`${context}: ${String(err)}`)
}

// The worker's stdout and stderr go straight to the core, line-assembled and labelled
// there, instead of through the main thread's event loop.
function captureOutput () {
  const forward = (fd) => function write (chunk, encoding, cb) {
    if (typeof encoding === 'function') { cb = encoding; encoding = undefined }
    link.write(fd, typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(encoding === 'buffer' ? undefined : encoding))
    if (cb) process.nextTick(cb)
    return true
  }
  process.stdout.write = forward(1)
  process.stderr.write = forward(2)

  // Loggers such as pino write to fd 1 with fs directly; catch those writes too.
  const text = (data, a, b) => {
    if (typeof data === 'string') return data
    const offset = typeof a === 'number' ? a : 0
    const length = typeof b === 'number' ? b : data.byteLength - offset
    return Buffer.from(data.buffer, data.byteOffset + offset, length).toString()
  }
  const writeSync = fs.writeSync
  fs.writeSync = function (fd, data, a, b, ...rest) {
    if (fd !== 1 && fd !== 2) return writeSync.call(fs, fd, data, a, b, ...rest)
    const s = text(data, a, b)
    link.write(fd, s)
    return Buffer.byteLength(s)
  }
  const write = fs.write
  fs.write = function (fd, data, ...args) {
    if (fd !== 1 && fd !== 2) return write.call(fs, fd, data, ...args)
    const cb = args.find((a) => typeof a === 'function')
    const s = text(data, args[0], args[1])
    link.write(fd, s)
    if (cb) process.nextTick(cb, null, Buffer.byteLength(s), data)
  }
}

load().catch((err) => {
  // Rethrown outside the promise so the main thread gets it as the worker's error.
  setImmediate(() => { throw err })
})
