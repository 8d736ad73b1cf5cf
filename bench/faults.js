'use strict'
// Fault figures of any system under test: how long from a worker crash, and from a stuck
// event loop, until a new worker answers, and how many requests a concurrent keep-alive
// load lost meanwhile. Also the chaos run: steady load with a crash every few seconds,
// counted per second. bench/run uses both; on its own (after bench/run has installed
// everything once):
//   node bench/faults.js [CRASH_RUNS=20] [STALL_RUNS=5] [--system spindle] [--workers 1]
//                        [--connections 0] [--limit 30]
// The app is bench/apps/hello with its fault routes on (BENCH_FAULT_ROUTES=1):
// `POST /__crash` answers, then process.exit(1); `POST /__stuck` answers, then
// `while (true) {}`. "A new worker answers" means an answer, to the load or to a probe,
// from a worker (pid:threadId) never seen before. Loopback only; every wait is bounded.
const { launch, sleep, killAll, SYSTEMS } = require('./lib/systems')
const { startLoad } = require('./lib/load')
const { request, who, now } = require('./lib/http')

const median = (xs) => xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] : null
const round1 = (x) => x == null ? null : Math.round(x * 10) / 10

// Tracks every worker id seen, by whom first, and lets a caller wait for a new one.
function workerBook (initial) {
  const first = new Map(initial.map((id) => [id, 0]))
  const waiters = new Set()
  return {
    saw (id, at) {
      if (first.has(id)) return
      first.set(id, at)
      for (const w of waiters) w(id, at)
    },
    // Resolves with the first worker seen after this call, or null after limitMs.
    waitNew (limitMs) {
      let waiter, timer
      return new Promise((resolve) => {
        waiter = (id, at) => resolve({ id, at })
        waiters.add(waiter)
        timer = setTimeout(() => resolve(null), limitMs)
      }).finally(() => { waiters.delete(waiter); clearTimeout(timer) })
    }
  }
}

// Breaks one worker with `fault` and measures until a new worker answers (at most
// limitMs). Probes GET /__who on new connections every 5 ms (at most 16 at once) besides
// whatever the load sees.
async function inject (base, book, fault, limitMs) {
  const pending = book.waitNew(limitMs)
  const t0 = now()
  let broken = null
  try {
    const res = await request(`${base}/__${fault}`, { method: 'POST', timeoutMs: 2000 })
    broken = JSON.parse(res.body).worker
  } catch {} // the worker may go before its answer arrives; the probes still tell
  let result
  pending.then((r) => { result = r })
  const inflight = new Set()
  const deadline = t0 + limitMs
  while (result === undefined && now() < deadline) {
    if (inflight.size < 16) {
      const p = who(base, { timeoutMs: 1000 }).then((r) => book.saw(r.worker, r.at), () => {})
      inflight.add(p)
      p.finally(() => inflight.delete(p))
    }
    await sleep(5)
  }
  const found = await pending
  await Promise.allSettled([...inflight])
  return { broken, new_worker: found?.id ?? null, recovery_ms: found ? round1(found.at - t0) : null, at: t0 }
}

// Starts the system on hello with its fault routes, puts the keep-alive load on it (if
// any) for a second, runs `body`, stops both; returns the load's result.
async function session (ctx, system, { workers, connections, requestTimeoutMs }, body) {
  const run = await launch(ctx, system, { app: 'hello', workers, faults: true })
  const book = workerBook(run.workers)
  const load = connections > 0
    ? startLoad({ url: `${run.base}/`, connections, timeoutMs: requestTimeoutMs, onWorker: (id, at) => book.saw(id, at) })
    : null
  let result = null
  try {
    if (load) { await load.started; await sleep(1000) }
    await body(run, book, load)
  } finally {
    if (load) result = await load.stop()
    await run.handle.stop()
  }
  return result
}

// Requests and failures of the load between two of its marks.
function span (result, a, b) {
  const m = result?.marks
  if (!m?.[a] || !m?.[b]) return null
  return { requests: (m[b].ok + m[b].failed) - (m[a].ok + m[a].failed), failed: m[b].failed - m[a].failed }
}

// Crash and stuck-loop figures of one system on the hello app, each kind of fault on a
// fresh start with fresh load connections (so that every worker holds some of them: a
// worker started after a crash may get none on systems where keep-alive connections
// stay with the worker that accepted them).
//   crashes: how many crashes, each given `crashWindowMs` (or until recovery + 1.5 s);
//   stalls: how many stuck loops (stops at the first not recovered within limitMs);
//   connections: the keep-alive load (0: none); its failures are counted over the
//   crashes, and for a stall within the first stallWindowMs, so that systems are
//   compared over equal time.
async function measureFaults (ctx, system, {
  workers = 2, crashes = 3, stalls = 1, connections = 32, limitMs = 30000,
  crashWindowMs = 3000, stallWindowMs = 10000, requestTimeoutMs = 2000, log = () => {}
} = {}) {
  const out = { system, workers, connections, request_timeout_ms: requestTimeoutMs, limit_s: limitMs / 1000, crash: { runs: [] }, stuck: { runs: [] } }
  const failures = []
  const say = (kind, i, n, r) => log(`  ${kind} ${i + 1}/${n}: ${r.recovery_ms == null ? `no new worker within ${limitMs / 1000} s` : `new worker ${r.new_worker} answered after ${r.recovery_ms} ms`}`)
  const opts = { workers, connections, requestTimeoutMs }

  if (crashes > 0) {
    const result = await session(ctx, system, opts, async (run, book, load) => {
      load?.mark('start')
      for (let i = 0; i < crashes; i++) {
        const r = await inject(run.base, book, 'crash', limitMs)
        out.crash.runs.push(r)
        say('crash', i, crashes, r)
        if (r.recovery_ms == null) break
        const until = Math.max(r.at + crashWindowMs, r.at + r.recovery_ms + 1500)
        await sleep(Math.max(0, until - now()))
      }
      load?.mark('end')
    })
    Object.assign(out.crash, span(result, 'start', 'end'))
    if (result) failures.push(...result.failures)
  }

  if (stalls > 0) {
    const result = await session(ctx, system, opts, async (run, book, load) => {
      for (let i = 0; i < stalls; i++) {
        load?.mark(`${i}:start`)
        const pending = inject(run.base, book, 'stuck', limitMs)
        if (load) sleep(stallWindowMs).then(() => load.mark(`${i}:window`))
        const r = await pending
        out.stuck.runs.push(r)
        say('stuck', i, stalls, r)
        const rest = r.at + stallWindowMs + 200 - now()
        if (load && rest > 0) await sleep(rest)
        if (r.recovery_ms == null) break
      }
    })
    if (result) {
      const spans = out.stuck.runs.map((_, i) => span(result, `${i}:start`, `${i}:window`)).filter(Boolean)
      out.stuck.window_s = stallWindowMs / 1000
      out.stuck.requests = spans.reduce((a, x) => a + x.requests, 0)
      out.stuck.failed = spans.reduce((a, x) => a + x.failed, 0)
      failures.push(...result.failures)
    }
  }

  if (connections > 0) out.failure_kinds = kinds(failures)
  const times = (runs) => runs.map((r) => r.recovery_ms).filter((x) => x != null)
  for (const phase of [out.crash, out.stuck]) {
    const t = times(phase.runs)
    phase.recovered = t.length
    phase.median_ms = round1(median(t))
    phase.max_ms = t.length ? Math.max(...t) : null
    phase.runs = phase.runs.map(({ at, ...r }) => r)
  }
  return out
}

function kinds (failures) {
  const k = {}
  for (const f of failures) k[f.kind] = (k[f.kind] || 0) + 1
  return k
}

// Steady keep-alive load on hello for `seconds`, a crash every `every` seconds from
// `first` on; requests and failures per second.
async function chaosRun (ctx, system, { workers = 2, seconds = 20, every = 4, first = 2, connections = 32, requestTimeoutMs = 2000 } = {}) {
  const run = await launch(ctx, system, { app: 'hello', workers, faults: true })
  const load = startLoad({ url: `${run.base}/`, connections, timeoutMs: requestTimeoutMs })
  const crashes = []
  let result
  try {
    await load.started
    const t0 = now()
    for (let at = first; at < seconds - 0.5; at += every) {
      await sleep(Math.max(0, t0 + at * 1000 - now()))
      const c = { at: now(), worker: null }
      try { c.worker = JSON.parse((await request(`${run.base}/__crash`, { method: 'POST', timeoutMs: 2000 })).body).worker } catch {}
      crashes.push(c)
    }
    await sleep(Math.max(0, t0 + seconds * 1000 - now()))
  } finally {
    result = await load.stop()
    await run.handle.stop()
  }
  const whole = Math.floor(seconds)
  return {
    system,
    workers,
    connections,
    seconds,
    crashes_at_s: crashes.map((c) => round1((c.at - result.start) / 1000)),
    per_second: result.perSecond.slice(0, whole).map((b) => [b.ok, b.failed]),
    ok: result.ok,
    failed: result.failed,
    failure_kinds: kinds(result.failures)
  }
}

module.exports = { measureFaults, chaosRun }

if (require.main === module) {
  const args = process.argv.slice(2)
  const opt = (name, dflt) => {
    const i = args.indexOf(`--${name}`)
    if (i < 0) return dflt
    const v = args[i + 1]
    args.splice(i, 2)
    return v
  }
  const system = opt('system', 'spindle')
  const workers = Number(opt('workers', 1))
  const connections = Number(opt('connections', 0))
  const limitMs = Number(opt('limit', 30)) * 1000
  const [crashes = 20, stalls = 5] = args.map(Number)
  if (!SYSTEMS[system]) {
    console.error(`bench/faults.js: unknown --system ${system}; one of ${Object.keys(SYSTEMS).join(', ')}`)
    process.exit(2)
  }
  const { createContext } = require('./lib/context')
  const fs = require('node:fs')
  const ctx = createContext()
  process.on('exit', killAll)
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { killAll(); fs.rmSync(ctx.work, { recursive: true, force: true }); process.exit(1) })
  // Without load, a crash is given 1.1 s (Spindle's good-start window is 1 s) so that
  // each is an isolated crash, not part of a crash loop that backs off.
  measureFaults(ctx, system, { workers, crashes, stalls, connections, limitMs, crashWindowMs: 1100, stallWindowMs: connections > 0 ? 10000 : 0, log: console.log })
    .then((r) => {
      const fmt = (p) => p.recovered
        ? `median ${p.median_ms} ms, max ${p.max_ms} ms (${p.recovered} of ${p.runs.length} recovered within ${limitMs / 1000} s)`
        : `not within ${limitMs / 1000} s`
      console.log(`${SYSTEMS[system].label}, ${workers} worker(s), Node ${ctx.versions.node}`)
      console.log(`crash -> new worker answering: ${fmt(r.crash)}${r.crash.failed != null ? `; ${r.crash.failed} of ${r.crash.requests} requests failed` : ''}`)
      console.log(`stuck loop -> new worker answering: ${fmt(r.stuck)}${r.stuck.failed != null ? `; ${r.stuck.failed} of ${r.stuck.requests} requests failed in the ${r.stuck.window_s} s after each stall` : ''}`)
    })
    .catch((err) => { console.error(err.message); process.exitCode = 1 })
    .finally(() => fs.rmSync(ctx.work, { recursive: true, force: true }))
}
