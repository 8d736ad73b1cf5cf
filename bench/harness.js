'use strict'
// The benchmark harness behind bench/run (which installs what it needs first; see there
// for the options). Measures, in one run on one machine: throughput and latency under
// wrk, memory of each system's process tree under load, cold start, added latency at
// concurrency 1, fault figures and a chaos run; writes the raw results as JSON, prints
// the tables, and (for full runs, or with --docs) writes them into docs/benchmarks.md
// with plots in docs/img/.
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { list, eachOption } = require('./lib/args')
const { createContext, machine, ROOT, BENCH } = require('./lib/context')
const { SYSTEMS, launch, killAll } = require('./lib/systems')
const { busyPercent, sampleMemory } = require('./lib/proc')
const { wrk, command: wrkCommand } = require('./lib/wrk')
const { measureFaults, chaosRun } = require('./faults')
const report = require('./lib/report')
const { addNote } = report
const { UNIT_ITERATIONS } = require('./apps/common')

const APPS = ['hello', 'cpu', 'mixed']
const DEFAULT_SYSTEMS = ['node', 'cluster', 'pm2', 'watt', 'spindle', 'spindle-standby']
const PARTS = ['throughput', 'latency', 'faults', 'chaos']
const FAULT_SYSTEMS = ['cluster', 'pm2', 'watt', 'spindle', 'spindle-standby', 'spindle-node20']
// Above this share of busy CPU in the second before a run, the run is flagged.
const QUIET_LIMIT = 10

const USAGE = `usage: bench/run [options]
  --quick               one run per measurement, short durations (for development)
  --systems LIST        of ${Object.keys(SYSTEMS).join(',')} (default ${DEFAULT_SYSTEMS.join(',')})
  --apps LIST           of ${APPS.join(',')} (default all)
  --workers LIST        of 1,2 (default 1,2; node runs 1 only)
  --parts LIST          of ${PARTS.join(',')} (default all)
  --runs N              measured wrk runs per point (default 3; quick 1)
  --duration S          seconds per wrk run at 64 connections (default 8; quick 3)
  --c1-duration S       seconds per wrk run at 1 connection (default 4; quick 2)
  --stuck-limit S       how long to wait for a stuck worker's replacement (default 30; quick 10)
  --chaos-seconds S     length of the chaos run (default 20; quick 8)
  --out FILE            results JSON (default bench/results/<date>-<host>.json;
                        quick: bench/results/quick/<date>-<host>.json)
  --docs | --no-docs    write the tables into docs/benchmarks.md and plots into docs/img
                        (default: yes for a full run, no for --quick)
  --report FILE         only turn an existing results JSON into tables, plots (and docs)
  --port N              the systems' public port (default 18242)
  --admin-port N        Spindle's admin port (default 18290)
  --keep                keep the work directory with every system's log`

function parseArgs (argv) {
  const o = { quick: false, docs: null, keep: false }
  eachOption(argv, (a, val) => {
    const num = () => {
      const n = Number(val())
      if (!(n > 0)) throw new Error(`${a} needs a positive number`)
      return n
    }
    switch (a) {
      case '--quick': o.quick = true; break
      case '--systems': o.systems = list(val(), Object.keys(SYSTEMS), 'system'); break
      case '--apps': o.apps = list(val(), APPS, 'app'); break
      case '--workers': o.workers = list(val(), ['1', '2'], 'worker count').map(Number); break
      case '--parts': o.parts = list(val(), PARTS, 'part'); break
      case '--runs': o.runs = num(); break
      case '--duration': o.duration = num(); break
      case '--c1-duration': o.c1Duration = num(); break
      case '--stuck-limit': o.stuckLimit = num(); break
      case '--chaos-seconds': o.chaosSeconds = num(); break
      case '--out': o.out = val(); break
      case '--docs': o.docs = true; break
      case '--no-docs': o.docs = false; break
      case '--report': o.report = val(); break
      case '--port': o.port = num(); break
      case '--admin-port': o.adminPort = num(); break
      case '--keep': o.keep = true; break
      case '-h': case '--help': console.log(USAGE); process.exit(0); break
      default: throw new Error(`unknown option ${a}\n${USAGE}`)
    }
  })
  const q = o.quick
  const settings = {
    quick: q,
    systems: o.systems || DEFAULT_SYSTEMS,
    apps: o.apps || APPS,
    workers: o.workers || [1, 2],
    parts: o.parts || PARTS,
    runs: o.runs || (q ? 1 : 3),
    duration_s: o.duration || (q ? 3 : 8),
    warmup_s: q ? 1 : 2,
    // cpu and mixed run a long hot loop per request, which V8 takes ≈10 s under this load
    // to compile at its top tier (node cluster and Spindle alike: 530 → 940 → 1,090 req/s
    // over three 5 s runs of cpu); measured earlier, the systems were compared while still
    // warming up, each at its own pace.
    warmup_heavy_s: q ? 3 : 15,
    c1_duration_s: o.c1Duration || (q ? 2 : 4),
    connections: 64,
    quiet_check_s: 0.5,
    quiet_limit_pct: QUIET_LIMIT,
    faults: {
      app: 'hello',
      workers: 2,
      connections: 32,
      request_timeout_ms: 2000,
      crashes: q ? 2 : 3,
      stalls: 1,
      crash_window_s: 3,
      stall_window_s: q ? 5 : 10,
      limit_s: o.stuckLimit || (q ? 10 : 30)
    },
    chaos: { app: 'hello', workers: 2, connections: 32, request_timeout_ms: 2000, seconds: o.chaosSeconds || (q ? 8 : 20), every_s: q ? 3 : 4, first_s: 2 },
    cpu_unit_iterations: UNIT_ITERATIONS,
    heavy_units: 5
  }
  for (const p of [o.port, o.adminPort]) {
    if (p != null && (!Number.isInteger(p) || p >= 32768 || p < 1024)) throw new Error(`ports must be integers in 1024..32767 (below the ephemeral range), got ${p}`)
  }
  return { o, settings }
}

const fmtInt = (x) => x == null ? '—' : Math.round(x).toLocaleString('en-US')
const median = (xs) => {
  const v = xs.filter((x) => x != null).sort((a, b) => a - b)
  return v.length ? v[Math.floor((v.length - 1) / 2)] : null
}
const r2 = (x) => x == null ? null : Math.round(x * 100) / 100
const log = (...a) => console.log(...a)

// What one unit of the cpu app's work costs here, on the systems' Node: minimum of 50
// after a warm-up (the minimum is the least disturbed by other load on the machine).
function measureUnit (ctx) {
  const script = `const { work } = require(${JSON.stringify(path.join(BENCH, 'apps/common.js'))});
    for (let i = 0; i < 20; i++) work(1);
    let best = Infinity;
    for (let i = 0; i < 50; i++) { const t = process.hrtime.bigint(); work(1); best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e6) }
    console.log(best)`
  return r2(Number(execFileSync(ctx.node, ['-e', script], { encoding: 'utf8' })))
}

async function quietCheck (results, what) {
  const busy = await busyPercent(results.settings.quiet_check_s * 1000)
  if (busy > QUIET_LIMIT) addNote(results, 'note', `machine not quiet before ${what}: ${busy}% CPU busy`)
  return busy
}

function wrkNote (results, res, what) {
  if (res.socket_errors || res.non2xx) {
    addNote(results, 'note', `${what}: wrk saw ${res.socket_errors} socket errors and ${res.non2xx} non-2xx answers`)
  }
}

// Runs one measurement; when it fails (a system that does not start, say), records why
// and lets the run go on with the others, unless the failure would repeat for all.
async function orNote (results, what, fn) {
  try {
    return await fn()
  } catch (err) {
    if (err.fatal) throw err
    const note = `${what} failed: ${err.message}`
    console.error(`  error: ${note}`)
    results.notes.push(note.split('\n')[0])
    results.errors = (results.errors || 0) + 1
    return null
  }
}

async function throughput (ctx, results) {
  const s = results.settings
  const configs = []
  for (const app of s.apps) {
    for (const system of s.systems) {
      for (const workers of s.workers) {
        if (workers > (SYSTEMS[system].maxWorkers || Infinity)) continue
        const only = SYSTEMS[system].throughputOnly
        if (only && !(only.apps.includes(app) && only.workers.includes(workers))) continue
        configs.push({ app, system, workers })
      }
    }
  }
  let i = 0
  for (const config of configs) {
    const { app, system, workers } = config
    const label = `${app} · ${SYSTEMS[system].label} · ${workers} worker${workers > 1 ? 's' : ''}`
    log(`[${++i}/${configs.length}] ${label}`)
    const entry = await orNote(results, label, () => measureConfig(ctx, results, config, label))
    if (entry) results.throughput.push(entry)
  }
}

// One system × workers × app: a fresh start, then the wrk runs.
async function measureConfig (ctx, results, { app, system, workers }, label) {
  const s = results.settings
  const t0 = Date.now()
  const run = await launch(ctx, system, { app, workers })
  const entry = { app, system, workers, node: system === 'spindle-node20' ? ctx.versions.node20 : ctx.versions.node, cold_start_ms: r2(run.coldStartMs), workers_seen: run.workers, runs: [] }
  log(`  cold start ${entry.cold_start_ms} ms; workers answering: ${run.workers.join(', ')}`)
  try {
    const url = `${run.base}/`
    const script = app === 'mixed' ? path.join(BENCH, 'lib/mixed.lua') : undefined
    if (s.parts.includes('throughput')) {
      const warmup = app === 'hello' ? s.warmup_s : (s.warmup_heavy_s ?? s.warmup_s)
      await wrk(url, { connections: s.connections, seconds: warmup, script })
      for (let r = 0; r < s.runs; r++) {
        const busy = await quietCheck(results, `${label}, run ${r + 1}`)
        const mem = sampleMemory(run.handle.roots)
        const res = await wrk(url, { connections: s.connections, seconds: s.duration_s, script })
        const peak = mem.stop()
        wrkNote(results, res, `${label}, run ${r + 1}`)
        const one = { rps: Math.round(res.rps), p50_ms: r2(res.p50_ms), p99_ms: r2(res.p99_ms), requests: res.requests, errors: res.socket_errors + res.non2xx, rss_mb: r2(peak.rssKb / 1024), pss_mb: r2(peak.pssKb / 1024), pids: peak.pids, busy_before_pct: busy }
        entry.runs.push(one)
        log(`  run ${r + 1}/${s.runs}: ${fmtInt(one.rps)} req/s, p50 ${one.p50_ms} ms, p99 ${one.p99_ms} ms, RSS ${Math.round(one.rss_mb)} MB, PSS ${Math.round(one.pss_mb)} MB (${one.pids} processes)`)
      }
      for (const k of ['rps', 'p50_ms', 'p99_ms', 'rss_mb', 'pss_mb']) entry[k] = median(entry.runs.map((x) => x[k]))
    }
    if (app === 'hello' && s.parts.includes('latency')) {
      entry.c1_runs = []
      for (let r = 0; r < s.runs; r++) {
        const busy = await quietCheck(results, `${label}, concurrency-1 run ${r + 1}`)
        const res = await wrk(url, { connections: 1, seconds: s.c1_duration_s })
        wrkNote(results, res, `${label}, concurrency-1 run ${r + 1}`)
        entry.c1_runs.push({ p50_us: Math.round(res.p50_ms * 1000), p99_us: Math.round(res.p99_ms * 1000), rps: Math.round(res.rps), busy_before_pct: busy })
        log(`  c1 run ${r + 1}/${s.runs}: p50 ${Math.round(res.p50_ms * 1000)} µs, ${fmtInt(res.rps)} req/s`)
      }
      entry.c1_p50_us = median(entry.c1_runs.map((x) => x.p50_us))
    }
  } finally {
    await run.handle.stop()
  }
  entry.elapsed_s = Math.round((Date.now() - t0) / 1000)
  return entry
}

async function faults (ctx, results) {
  const f = results.settings.faults
  for (const system of results.settings.systems.filter((x) => FAULT_SYSTEMS.includes(x))) {
    log(`faults · ${SYSTEMS[system].label} · ${f.workers} workers · ${f.connections} keep-alive connections`)
    await quietCheck(results, `faults of ${SYSTEMS[system].label}`)
    const r = await orNote(results, `faults of ${SYSTEMS[system].label}`, () => measureFaults(ctx, system, {
      workers: f.workers,
      crashes: f.crashes,
      stalls: f.stalls,
      connections: f.connections,
      requestTimeoutMs: f.request_timeout_ms,
      limitMs: f.limit_s * 1000,
      crashWindowMs: f.crash_window_s * 1000,
      stallWindowMs: f.stall_window_s * 1000,
      log
    }))
    if (!r) continue
    log(`  failed: ${r.crash.failed} of ${r.crash.requests} over the crashes, ${r.stuck.failed} of ${r.stuck.requests} in the ${f.stall_window_s} s after the stall`)
    results.faults.push(r)
  }
}

async function chaos (ctx, results) {
  const c = results.settings.chaos
  for (const system of results.settings.systems.filter((x) => FAULT_SYSTEMS.includes(x))) {
    log(`chaos · ${SYSTEMS[system].label} · ${c.seconds} s, a crash every ${c.every_s} s`)
    await quietCheck(results, `chaos run of ${SYSTEMS[system].label}`)
    const r = await orNote(results, `chaos run of ${SYSTEMS[system].label}`, () => chaosRun(ctx, system, { workers: c.workers, seconds: c.seconds, every: c.every_s, first: c.first_s, connections: c.connections, requestTimeoutMs: c.request_timeout_ms }))
    if (!r) continue
    log(`  ${fmtInt(r.ok)} ok, ${r.failed} failed; crashes at ${r.crashes_at_s.join(', ')} s`)
    results.chaos.push(r)
  }
}

function defaultOut (settings, m) {
  const date = new Date().toISOString().slice(0, 10)
  return settings.quick
    ? path.join(BENCH, 'results/quick', `${date}-${m.host}.json`)
    : path.join(BENCH, 'results', `${date}-${m.host}.json`)
}

async function main () {
  const { o, settings } = parseArgs(process.argv.slice(2))
  if (o.report) {
    const results = JSON.parse(fs.readFileSync(o.report, 'utf8'))
    return publish(results, o.report, o.docs ?? !results.settings.quick)
  }
  const ctx = createContext({ port: o.port, adminPort: o.adminPort })
  if (!o.keep) workDir = ctx.work
  if (settings.systems.includes('spindle-node20') && !ctx.node20) {
    throw new Error('spindle-node20 needs Node 20: `node` on PATH is not 20.x; set BENCH_NODE20=/path/to/node20')
  }
  const m = machine()
  const results = {
    format: 1,
    started: new Date().toISOString(),
    command: `bench/run${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}`,
    machine: m,
    versions: ctx.versions,
    settings,
    commands: {
      load: wrkCommand({ connections: settings.connections, seconds: settings.duration_s }),
      load_mixed: wrkCommand({ connections: settings.connections, seconds: settings.duration_s, script: 'bench/lib/mixed.lua' }),
      latency: wrkCommand({ connections: 1, seconds: settings.c1_duration_s })
    },
    cpu_unit_ms: measureUnit(ctx),
    throughput: [],
    faults: [],
    chaos: [],
    notes: []
  }
  log(`bench/run on ${m.host}: ${m.nproc} × ${m.model}, ${m.kernel}; Node ${ctx.versions.node}; Spindle ${ctx.versions.spindle_rev}${ctx.versions.spindle_dirty ? ' (with uncommitted changes)' : ''}`)
  log(`one unit of cpu work (${UNIT_ITERATIONS.toLocaleString('en-US')} iterations) = ${results.cpu_unit_ms} ms here; work directory ${ctx.work}`)
  const t0 = Date.now()
  const out = path.resolve(o.out || defaultOut(settings, m))
  try {
    if (settings.parts.includes('throughput') || settings.parts.includes('latency')) await throughput(ctx, results)
    if (settings.parts.includes('faults')) await faults(ctx, results)
    if (settings.parts.includes('chaos')) await chaos(ctx, results)
  } finally {
    results.finished = new Date().toISOString()
    results.duration_s = Math.round((Date.now() - t0) / 1000)
    results.file = path.relative(ROOT, out)
    fs.mkdirSync(path.dirname(out), { recursive: true })
    fs.writeFileSync(out, JSON.stringify(results, null, 1) + '\n')
    log(`\nresults: ${path.relative(process.cwd(), out)} (${results.duration_s} s)`)
    if (o.keep) log(`logs kept in ${ctx.work}`)
    else fs.rmSync(ctx.work, { recursive: true, force: true })
  }
  publish(results, out, o.docs ?? !settings.quick)
  if (results.errors) {
    console.error(`bench/run: ${results.errors} measurement(s) failed; see the notes above`)
    process.exitCode = 1
  }
}

// Prints the tables; with docs, writes them into docs/benchmarks.md and the plots into
// docs/img; without, the plots go next to the results file.
function publish (results, file, docs) {
  const imgDir = docs ? path.join(ROOT, 'docs/img') : path.join(path.dirname(file), 'img')
  const plots = report.plot(file, imgDir)
  const md = report.markdown(results, { imgPrefix: docs ? 'img/' : `${path.relative(path.join(ROOT, 'docs'), imgDir)}/`, plots: plots.ok })
  log('\n' + md)
  if (!plots.ok) log(`note: no plots: ${plots.why}`)
  else log(`plots: ${plots.files.map((f) => path.relative(process.cwd(), f)).join(', ')}`)
  if (docs) {
    report.updateDocs(path.join(ROOT, 'docs/benchmarks.md'), md)
    log('docs/benchmarks.md updated')
  }
}

// Whatever way the run ends, no system it started outlives it (they run in process
// groups of their own, which a Ctrl-C on the terminal does not reach).
let workDir = null
process.on('exit', killAll)
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(signal, () => {
    console.error(`\nbench/run: ${signal}, stopping the systems it started`)
    killAll()
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true })
    process.exit(code)
  })
}

main().catch((err) => {
  console.error(`bench/run: ${err.message}`)
  process.exitCode = 1
})
