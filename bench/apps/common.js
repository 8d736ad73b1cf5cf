'use strict'
// What the reference apps share: the fixed CPU work, the worker's identity and the
// routes the harness uses to tell workers apart and to break them. The app's own handler
// stays the whole request path for every URL except `/__…`, so the systems measure the
// same code.
//
//   GET  /__who[?hold=MS]  200 {worker: "<pid>:<threadId>", node}, after MS ms (non-blocking),
//                          so concurrent calls overlap and reach more than one worker
//   POST /__crash          200, then process.exit(1)       } only with BENCH_FAULT_ROUTES=1
//   POST /__stuck          200, then while (true) {}        } (404 otherwise)
// With BENCH_FAULT_ROUTES=1 every answer also carries `x-worker: <pid>:<threadId>`.
// With BENCH_TLS_KEY and BENCH_TLS_CERT (files) the app serves https itself, as an app
// must where the system in front of it does not terminate TLS (bench/tls).
const fs = require('node:fs')
const http = require('node:http')
const https = require('node:https')
const { threadId } = require('node:worker_threads')

// One unit of work is ≈2 ms of one CPU on the reference machine (Intel Xeon KVM vCPU,
// Node 24 and 20 alike: 2.01 ms, minimum of 200 runs). Calibrated once and fixed here,
// so every system and every run does the same amount of work; bench/run records what a
// unit costs on the machine it runs on.
const UNIT_ITERATIONS = 1_500_000
// The work app's per-request work: ≈100 µs on the same kind of machine (Node 24: 100 µs,
// minimum of 2,000 runs in a fresh process; calibrated 2026-12-05), fixed likewise.
const WORK_ITERATIONS = 90_000

// An FNV-style integer hash: no allocation, no I/O, and its result is sent back so the
// loop cannot be optimised away.
function hash (iterations) {
  let h = 0x811c9dc5
  for (let i = 0; i < iterations; i++) h = Math.imul(h ^ i, 16777619)
  return h >>> 0
}

function work (units) {
  return hash(units * UNIT_ITERATIONS)
}

const WORKER = `${process.pid}:${threadId}`
const FAULTS = process.env.BENCH_FAULT_ROUTES === '1'

function answer (res, status, body) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

// Answers first, then breaks the worker once the answer has left, so the harness learns
// which worker it broke.
function answerThen (res, then) {
  res.once('finish', () => setImmediate(then))
  answer(res, 200, { worker: WORKER })
}

function special (req, res) {
  const url = new URL(req.url, 'http://x')
  if (url.pathname === '/__who') {
    const hold = Math.min(Number(url.searchParams.get('hold')) || 0, 1000)
    setTimeout(() => answer(res, 200, { worker: WORKER, node: process.version }), hold)
  } else if (FAULTS && req.method === 'POST' && url.pathname === '/__crash') {
    answerThen(res, () => process.exit(1))
  } else if (FAULTS && req.method === 'POST' && url.pathname === '/__stuck') {
    answerThen(res, () => { while (true) {} })
  } else {
    answer(res, 404, { error: `no route ${req.method} ${url.pathname}` })
  }
}

// Starts the app's server on PORT (the systems under test decide what that means).
function serve (handler) {
  const main = FAULTS
    ? (req, res) => { res.setHeader('x-worker', WORKER); handler(req, res) }
    : handler
  const route = (req, res) => {
    // '/_' prefix: one char comparison on the measured path.
    if (req.url.charCodeAt(1) === 95 && req.url.startsWith('/__')) return special(req, res)
    main(req, res)
  }
  const { BENCH_TLS_KEY: key, BENCH_TLS_CERT: cert } = process.env
  const server = key && cert
    ? https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, route)
    : http.createServer(route)
  server.listen(Number(process.env.PORT) || 3000)
  return server
}

module.exports = { work, hash, serve, UNIT_ITERATIONS, WORK_ITERATIONS }
