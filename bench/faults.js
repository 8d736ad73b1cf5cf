'use strict'
// Fault figures of Spindle: how long from a worker crash, and from a stuck event loop,
// until a new worker serves. Starts the release build on the chaos fixture (1 worker, so
// nothing else can answer meanwhile) and repeats each fault, printing medians.
//   node bench/faults.js [CRASH_RUNS=20] [STALL_RUNS=5]     (SPINDLE_NODE=/path/to/node to pick the workers' Node)
// Loopback only; every wait is bounded.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')
const CRASH_RUNS = Number(process.argv[2] || 20)
const STALL_RUNS = Number(process.argv[3] || 5)
const PORT = 18142
const ADMIN = 18190
const base = `http://127.0.0.1:${PORT}`

async function request (method, url, timeoutMs = 15000) {
  const res = await fetch(url, { method, signal: AbortSignal.timeout(timeoutMs) })
  return { status: res.status, body: await res.text() }
}

async function waitReady (deadline) {
  while (Date.now() < deadline) {
    try {
      if ((await request('GET', `http://127.0.0.1:${ADMIN}/ready`, 1000)).status === 200) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error('spindle did not become ready')
}

async function thread () {
  const res = await request('GET', `${base}/`)
  if (res.status !== 200) throw new Error(`GET / answered ${res.status}: ${res.body}`)
  return JSON.parse(res.body).threadId
}

// Time from the fault until a GET is answered by a different worker thread. The GET
// waits in Spindle's queue (or is retried) while no healthy worker exists.
async function measure (fault) {
  const before = await thread()
  const t0 = process.hrtime.bigint()
  await request('POST', `${base}/${fault}`).catch(() => {})
  for (let i = 0; i < 200; i++) {
    const now = await thread()
    if (now !== before) return Number(process.hrtime.bigint() - t0) / 1e6
  }
  throw new Error(`no new worker after ${fault}`)
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
const p = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]

async function main () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-faults-'))
  const config = path.join(dir, 'spindle.json')
  fs.writeFileSync(config, JSON.stringify({
    server: { port: PORT },
    metrics: { port: ADMIN },
    applications: [{ id: 'chaos', path: path.join(ROOT, 'tests/fixtures/chaos'), workers: 1 }]
  }))
  const server = spawn(path.join(ROOT, 'target/release/spindle'), ['start', '-c', config, '--json', ...(process.env.SPINDLE_NODE ? ['--node', process.env.SPINDLE_NODE] : [])], { stdio: ['ignore', 'ignore', 'inherit'] })
  try {
    await waitReady(Date.now() + 20000)
    const crash = []
    for (let i = 0; i < CRASH_RUNS; i++) {
      crash.push(await measure('crash'))
      // Let the new worker serve past Spindle's "good start" window (1 s), so each crash
      // is an isolated one, restarted at once, not part of a crash loop (which backs off).
      await new Promise((resolve) => setTimeout(resolve, 1100))
    }
    const stall = []
    for (let i = 0; i < STALL_RUNS; i++) stall.push(await measure('hang'))
    const fmt = (xs) => `median ${median(xs).toFixed(1)} ms, p90 ${p(xs, 0.9).toFixed(1)} ms, min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)} (${xs.length} runs)`
    console.log(`crash -> new worker serving: ${fmt(crash)}`)
    console.log(`stuck loop -> new worker serving: ${fmt(stall)}`)
    console.log(`workers on ${process.env.SPINDLE_NODE || 'node on PATH'}; ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}`)
  } finally {
    server.kill('SIGTERM')
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1 })
