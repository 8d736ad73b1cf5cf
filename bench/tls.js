'use strict'
// TLS on the public port (bench/tls; docs/benchmarks.md): the same hello app with 2
// workers under node cluster, Watt and Spindle, in alternating rounds, each system started
// fresh per round. Spindle terminates TLS in its Rust core (rustls, `server.https`); under
// node cluster and Watt the app does, with node:https in each worker (Watt's
// `server.https` applies to its own HTTP server, not to a Node app that creates its
// server, as this one does: each worker listens itself).
//   - requests/s over kept-alive TLS connections: wrk -t1 -c64, https;
//   - handshakes/s: the same with `Connection: close`, so every request is a new
//     connection and a full TLS handshake (wrk reconnects at once), -c16.
// The key and certificate are a fresh self-signed P-256 pair made with openssl.
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { createContext, machine, BENCH } = require('./lib/context')
const { SYSTEMS, launch, killAll } = require('./lib/systems')
const { busyPercent } = require('./lib/proc')
const { wrk } = require('./lib/wrk')

const USAGE = `usage: bench/tls [options]
  --rounds N      alternating rounds, each system started fresh (default 3)
  --duration S    seconds per wrk run (default 8)
  --out FILE      results JSON (default bench/results/tls/<date>-<host>.json)`

function parseArgs (argv) {
  const o = { rounds: 3, duration: 8, out: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const num = () => { const n = Number(argv[++i]); if (!(n > 0)) throw new Error(`${a} needs a positive number`); return n }
    if (a === '--rounds') o.rounds = num()
    else if (a === '--duration') o.duration = num()
    else if (a === '--out') o.out = argv[++i]
    else if (a === '-h' || a === '--help') { console.log(USAGE); process.exit(0) } else throw new Error(`unknown option ${a}\n${USAGE}`)
  }
  return o
}

const median = (xs) => { const v = [...xs].sort((a, b) => a - b); return v[Math.floor((v.length - 1) / 2)] }
const log = (...args) => console.error(...args)

function certificate (dir) {
  const key = path.join(dir, 'key.pem')
  const cert = path.join(dir, 'cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' })
  return { key, cert }
}

async function measure (ctx, system, tls, o) {
  const run = await launch(ctx, system, { app: 'hello', workers: 2, tls })
  try {
    const url = `${run.base}/`
    await wrk(url, { connections: 64, seconds: 2 })
    const busy1 = await busyPercent(500)
    const kept = await wrk(url, { connections: 64, seconds: o.duration })
    const busy2 = await busyPercent(500)
    const fresh = await wrk(url, { connections: 16, seconds: o.duration, headers: ['Connection: close'] })
    return {
      rps: Math.round(kept.rps),
      p99_ms: kept.p99_ms,
      handshakes_per_s: Math.round(fresh.rps),
      handshake_p99_ms: fresh.p99_ms,
      errors: kept.socket_errors + kept.non2xx + fresh.non2xx,
      busy_before_pct: Math.max(busy1, busy2)
    }
  } finally {
    await run.handle.stop()
  }
}

async function main () {
  const o = parseArgs(process.argv.slice(2))
  const ctx = createContext()
  process.on('SIGINT', () => { killAll(); process.exit(130) })
  const tls = certificate(ctx.work)
  const systems = ['cluster', 'watt', 'spindle']
  const rounds = []
  for (let r = 0; r < o.rounds; r++) {
    const order = r % 2 ? [...systems].reverse() : systems
    const round = {}
    for (const system of order) {
      log(`round ${r + 1}/${o.rounds}: ${SYSTEMS[system].label}`)
      round[system] = await measure(ctx, system, tls, o)
      log(`  ${round[system].rps} req/s kept alive (p99 ${round[system].p99_ms} ms), ${round[system].handshakes_per_s} handshakes/s`)
    }
    rounds.push(round)
  }
  const summary = {}
  for (const system of systems) {
    summary[system] = {
      rps: median(rounds.map((r) => r[system].rps)),
      handshakes_per_s: median(rounds.map((r) => r[system].handshakes_per_s)),
      p99_ms: median(rounds.map((r) => r[system].p99_ms)),
      handshake_p99_ms: median(rounds.map((r) => r[system].handshake_p99_ms))
    }
  }
  const m = machine()
  const results = {
    date: new Date().toISOString(),
    machine: m,
    versions: ctx.versions,
    commands: { kept: 'wrk -t1 -c64 -d<S>s --latency https://127.0.0.1:<port>/', fresh: "wrk -t1 -c16 -d<S>s --latency -H 'Connection: close' https://127.0.0.1:<port>/" },
    rounds,
    summary
  }
  const out = o.out || path.join(BENCH, 'results/tls', `${results.date.slice(0, 10)}-${m.host}.json`)
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n')
  const s = summary.spindle
  console.log('| system | req/s, kept-alive TLS | p99 ms | handshakes/s | p99 ms | Spindle ×, req/s | Spindle ×, handshakes/s |')
  console.log('|---|---|---|---|---|---|---|')
  for (const system of systems) {
    const x = summary[system]
    console.log(`| ${SYSTEMS[system].label} | ${x.rps} | ${x.p99_ms} | ${x.handshakes_per_s} | ${x.handshake_p99_ms} | ${(s.rps / x.rps).toFixed(2)} | ${(s.handshakes_per_s / x.handshakes_per_s).toFixed(2)} |`)
  }
  console.log(`\nResults: ${path.relative(process.cwd(), out)}`)
  fs.rmSync(ctx.work, { recursive: true, force: true })
}

main().catch((err) => { killAll(); console.error(`bench/tls: ${err.stack || err.message}`); process.exit(1) })
