'use strict'
// The worker's end of its link to the Rust core: virtual connections, carried through
// memory instead of sockets. Each is a Duplex that the app's http.Server takes as a
// client socket ('connection'). The core queues the client's bytes in this worker's
// inbox and wakes the thread when the inbox goes from empty to non-empty; the wake-up
// takes everything queued meanwhile with one call, so under load one wake-up carries
// many requests. Every write goes back to the core with one synchronous call.
//
// Inbox records: id u32 LE | kind u8 | length u32 LE | payload. The kinds, and what they
// mean, are crates/spindle-core/src/datapath/wire.rs; the two files must agree.

const { Duplex } = require('node:stream')

const OPEN = 1
const DATA = 2
const PEER = 3
const END = 4
const CLOSE = 5
const DRAINED = 6

// Node's http server keeps its own state on the socket (`_paused`, `parser`, `server`,
// `_httpMessage`, …), so this class keeps its own in private fields.
class VirtualSocket extends Duplex {
  #id
  // The client's address, decoded from its record only when asked for: most apps never
  // ask, and a pooled connection changes client often.
  #peer = null
  #peerStart = 0
  #peerEnd = 0
  #remoteAddress = undefined
  #remotePort = undefined
  // The core was told to stop sending: push() said the app has enough unread input.
  #stopped = false
  // A write's callback, held until the core has sent what it has to the client.
  #held = null
  #closedByCore = false
  #timer = null

  constructor (id) {
    super()
    this.#id = id
    this.bytesRead = 0
    this.bytesWritten = 0
    this.connecting = false
    this.pending = false
  }

  get remoteAddress () {
    if (this.#peer !== null) {
      this.#remoteAddress = this.#peer.latin1Slice(this.#peerStart, this.#peerEnd)
      this.#peer = null
    }
    return this.#remoteAddress
  }

  get remotePort () { return this.#remotePort }
  get remoteFamily () {
    const a = this.remoteAddress
    return a === undefined ? undefined : (a.includes(':') ? 'IPv6' : 'IPv4')
  }

  get readyState () {
    if (this.destroyed) return 'closed'
    if (this.readable && this.writable) return 'open'
    return this.readable ? 'readOnly' : this.writable ? 'writeOnly' : 'closed'
  }

  // Socket options that mean nothing in memory; accepted so apps and Node's http
  // server can call them as on a TCP socket.
  setNoDelay () { return this }
  setKeepAlive () { return this }
  ref () { return this }
  unref () { return this }

  // An inactivity timeout, as net.Socket has: 'timeout' after ms without reads or writes.
  setTimeout (ms, callback) {
    if (this.#timer) { clearTimeout(this.#timer); this.#timer = null }
    const timeout = ms > 0 ? ms : 0
    if (callback) {
      if (timeout) this.once('timeout', callback)
      else this.removeListener('timeout', callback)
    }
    if (timeout) {
      this.#timer = setTimeout(() => { this.#timer = null; this.emit('timeout') }, timeout)
      this.#timer.unref()
    }
    return this
  }

  destroySoon () {
    if (this.writable) this.end()
    if (this.writableFinished) this.destroy()
    else this.once('finish', this.destroy)
  }

  // ---- from the core (see deliver) ----

  _spindleData (chunk) {
    this.bytesRead += chunk.length
    if (this.#timer) this.#timer.refresh()
    // What push() would do for a flowing stream with nothing buffered, without its
    // bookkeeping (it schedules a read-ahead tick on every call): Node's http server
    // reads its sockets in flowing mode, so this is every request's path.
    const state = this._readableState
    if (state.flowing && state.length === 0 && !state.ended && !state.destroyed) {
      this.emit('data', chunk)
      return
    }
    if (!this.push(chunk) && !this.#stopped) {
      this.#stopped = true
      addon.vconnPause(this.#id)
    }
  }

  _spindlePeer (buf, start, end) {
    this.#remotePort = buf.readUInt16LE(start)
    this.#peer = buf
    this.#peerStart = start + 2
    this.#peerEnd = end
  }

  _spindleClose () {
    this.#closedByCore = true
    this.destroy()
  }

  _spindleDrained () {
    const held = this.#held
    this.#held = null
    if (held) held()
  }

  // ---- stream internals ----

  _read () {
    if (this.#stopped) {
      this.#stopped = false
      addon.vconnResume(this.#id)
    }
  }

  _write (chunk, encoding, callback) {
    this.bytesWritten += chunk.length
    if (this.#timer) this.#timer.refresh()
    if (addon.vconnSend(this.#id, chunk)) callback()
    else this.#held = callback
  }

  // Node's http server writes a response's head and body separately, corked: one call
  // to the core for both.
  _writev (chunks, callback) {
    const buffers = new Array(chunks.length)
    for (let i = 0; i < chunks.length; i++) buffers[i] = chunks[i].chunk
    this._write(Buffer.concat(buffers), null, callback)
  }

  _final (callback) {
    if (!this.#closedByCore) addon.vconnEnd(this.#id)
    callback()
  }

  _destroy (err, callback) {
    if (this.#timer) { clearTimeout(this.#timer); this.#timer = null }
    sockets.delete(this.#id)
    if (!this.#closedByCore) addon.vconnClosed(this.#id)
    const held = this.#held
    this.#held = null
    if (held) held(err || new Error('connection closed'))
    callback(err)
  }
}

const sockets = new Map()
// The addon, whose vconn* functions act on this thread's pipe.
let addon = null

// Makes this thread's WorkerLink (see crates/spindle-node), whose inbox is read whenever
// the core wakes the thread; `server()` is the app's server, which takes each new
// connection.
function connect (theAddon, id, server) {
  addon = theAddon
  return new addon.WorkerLink(id, function onInbox () {
    try {
      const buf = addon.vconnTake()
      if (buf !== null) read(buf, server)
    } finally {
      // More came while these ran: take it on the next loop turn, so timers and other
      // I/O get theirs in between (the core does not wake a worker that has not rested).
      if (addon.vconnRest()) setImmediate(onInbox)
    }
  })
}

function read (buf, server) {
  const end = buf.length
  let off = 0
  while (off < end) {
    const id = buf.readUInt32LE(off)
    const kind = buf[off + 4]
    const start = off + 9
    off = start + buf.readUInt32LE(off + 5)
    try {
      deliver(server, id, kind, buf, start, off)
    } catch (err) {
      // The app threw while handling these bytes (in its request handler, say): that
      // is its uncaught exception, as on a TCP socket, but the records after it in
      // this batch still belong to other requests.
      process.nextTick(rethrow, err)
    }
  }
}

function deliver (server, id, kind, buf, start, end) {
  if (kind === DATA) {
    const socket = sockets.get(id)
    if (socket !== undefined) socket._spindleData(buf.subarray(start, end))
    return
  }
  if (kind === OPEN) {
    const socket = new VirtualSocket(id)
    if (end > start) socket._spindlePeer(buf, start, end)
    sockets.set(id, socket)
    server().emit('connection', socket)
    return
  }
  const socket = sockets.get(id)
  if (socket === undefined) return
  switch (kind) {
    case PEER:
      socket._spindlePeer(buf, start, end)
      break
    case END:
      socket.push(null)
      break
    case CLOSE:
      socket._spindleClose()
      break
    case DRAINED:
      socket._spindleDrained()
      break
  }
}

function rethrow (err) { throw err }

module.exports = { connect, VirtualSocket }
