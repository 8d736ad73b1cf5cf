'use strict'
// Routes a worker's calls to http://<app>.plt.local through the Rust core's mesh socket
// for this app: Node's fetch and the undici package (through undici's global dispatcher),
// and node:http requests that use the default agent. Everything else is untouched.

const http = require('node:http')
const net = require('node:net')
const tls = require('node:tls')

const DOMAIN = '.plt.local'
const DISPATCHER = Symbol.for('undici.globalDispatcher.1')

function isMesh (host) {
  return typeof host === 'string' && host.toLowerCase().endsWith(DOMAIN)
}

function install (socket) {
  installHttpAgent(socket)
  installFetch(socket)
}

// node:http: a global agent whose connections to mesh hosts open the mesh socket.
function installHttpAgent (socket) {
  class MeshAgent extends http.Agent {
    createConnection (options, callback) {
      if (isMesh(options.host || options.hostname)) return net.connect({ path: socket }, callback)
      return super.createConnection(options, callback)
    }
  }
  http.globalAgent = new MeshAgent({ keepAlive: true })
}

// fetch and undici: Node creates its dispatcher (undici's Agent) lazily, and its class is
// not exported, so the first fetch of this worker installs a dispatcher built from that
// class whose connector sends mesh hosts to the socket. That also happens right after the
// app is loaded, off the start-up path, for apps that use the undici package directly.
let installing = null
function installFetch (socket) {
  const original = globalThis.fetch
  if (typeof original !== 'function') return
  globalThis.fetch = async function fetch (input, init) {
    await ensureDispatcher(socket, original)
    return original(input, init)
  }
}

function ensureDispatcher (socket, original = globalThis.fetch) {
  if (!installing) installing = createDispatcher(socket, original)
  return installing
}

async function createDispatcher (socket, originalFetch) {
  if (!globalThis[DISPATCHER]) {
    // Makes Node create its default dispatcher: a refused connection on loopback port 1,
    // which costs well under a millisecond and sends nothing anywhere.
    await originalFetch('http://127.0.0.1:1/').catch(() => {})
  }
  const existing = globalThis[DISPATCHER]
  if (!existing || existing.constructor.name !== 'Agent') return
  const Agent = existing.constructor
  globalThis[DISPATCHER] = new Agent({ connect: connector(socket) })
}

// undici connector: mesh hosts → the mesh socket; others → TCP, or TLS for https.
function connector (socket) {
  return function connect (options, callback) {
    const { hostname, protocol, port, servername } = options
    let conn
    if (isMesh(hostname)) {
      conn = net.connect({ path: socket })
    } else if (protocol === 'https:') {
      conn = tls.connect({ host: hostname, port: port || 443, servername: servername || hostname, ALPNProtocols: ['http/1.1'] })
    } else {
      conn = net.connect({ host: hostname, port: port || 80 })
    }
    const ready = protocol === 'https:' && !isMesh(hostname) ? 'secureConnect' : 'connect'
    conn.setNoDelay(true)
    conn.once(ready, () => callback(null, conn))
    conn.once('error', (err) => callback(err, null))
    return conn
  }
}

module.exports = { install, ensureDispatcher, isMesh }
