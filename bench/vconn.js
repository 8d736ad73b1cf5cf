'use strict'
// The JavaScript half of Spindle's data path, alone: node:http fed through js/vconn.js's
// virtual sockets by a stand-in for the addon, in one thread, with no Rust and no socket.
// What it prints is what a hello request costs a worker thread in JS, to compare changes
// to js/vconn.js (run it with each version, alternating, on Node 20 and 24):
//
//   node bench/vconn.js [path/to/vconn.js] [requests]
//
// 64 connections each send their next request on setImmediate after an answer, as a
// keep-alive client does; records are built as the core builds them (datapath/wire.rs).
const http = require('node:http')
const path = require('node:path')

const file = path.resolve(process.argv[2] || path.join(__dirname, '..', 'js', 'vconn.js'))
const TOTAL = Number(process.argv[3] || 300000)
const CONNECTIONS = 64
const OPEN = 1
const DATA = 2
const REQUEST = Buffer.from('GET / HTTP/1.1\r\nHost: 127.0.0.1:3042\r\n\r\n')

const vconn = require(file)
const server = http.createServer((req, res) => { res.end('hello') })
let inbox = null
let answered = 0
let started = 0n

const addon = {
  WorkerLink: class { constructor (id, onInbox) { this.onInbox = onInbox } },
  vconnTake () { const taken = inbox; inbox = null; return taken },
  vconnSend (id) {
    answered++
    if (answered < TOTAL) setImmediate(send, id)
    else if (answered === TOTAL) report()
    return true
  },
  vconnEnd () {},
  vconnClosed () {},
  vconnPause () {},
  vconnResume () {},
  vconnRest () { return inbox !== null }
}
const link = vconn.connect(addon, 'bench:0', () => server)

function record (id, kind, payload) {
  const buf = Buffer.alloc(9 + payload.length)
  buf.writeUInt32LE(id, 0)
  buf[4] = kind
  buf.writeUInt32LE(payload.length, 5)
  payload.copy(buf, 9)
  return buf
}

function deliver (records) {
  inbox = records
  link.onInbox()
}

function send (id) { deliver(record(id, DATA, REQUEST)) }

function report () {
  const ns = Number(process.hrtime.bigint() - started)
  console.log(`${(ns / TOTAL / 1000).toFixed(2)} µs per request (${TOTAL} requests, ${CONNECTIONS} connections, Node ${process.version}, ${file})`)
  process.exit(0)
}

const opens = []
for (let id = 0; id < CONNECTIONS; id++) {
  const peer = Buffer.alloc(2 + 9)
  peer.writeUInt16LE(5000 + id, 0)
  peer.write('127.0.0.1', 2)
  opens.push(record(id, OPEN, peer))
}
deliver(Buffer.concat(opens))
started = process.hrtime.bigint()
for (let id = 0; id < CONNECTIONS; id++) send(id)
