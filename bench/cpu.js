'use strict'
// The tool behind bench/cpu-per-request (which installs wrk and Node 24 first): what one
// request costs in CPU, split by thread group, and what a system adds to latency at
// concurrency 1, for node, node cluster and two Spindle builds side by side. Throughput
// alone hides where the cost is on a 2-core machine shared with wrk; CPU per request
// says what each request cost however the cores were shared, and the groups say whose
// it is. (Not entirely: on this VM a thread computes slower while the other CPU is in
// the kernel, so compare systems within one run, never across runs.)
//
// Per round, per app, per system (order reversed every other round, each start fresh):
// a warm-up, then a run at 64 connections with every thread's utime+stime read from
// /proc before and after (CPU / requests wrk completed), then runs at 1 connection,
// unpinned and with the system and wrk on one CPU. wrk's own CPU is not counted. With
// --perf, one more hello run per Spindle system under `perf record` of its core
// threads alone.
const fs = require('node:fs')
const path = require('node:path')
const { execFileSync, execFile, spawn } = require('node:child_process')
const { list, eachOption } = require('./lib/args')
const { addNote } = require('./lib/report')
const { createContext, machine, ROOT, BENCH } = require('./lib/context')
const { SYSTEMS, launch, killAll, sleep } = require('./lib/systems')
const { tree, threadTimes, cpuTimes, busyPercent } = require('./lib/proc')
const { wrk, command: wrkCommand } = require('./lib/wrk')
const { WORK_ITERATIONS } = require('./apps/common')

const APPS = ['hello', 'work']
const CHOICES = ['node', 'cluster', 'spindle', 'spindle-b']
const GROUPS = ['core', 'spindle-other', 'workers', 'node', 'total']
const QUIET_LIMIT = 10

const USAGE = `usage: bench/cpu-per-request [options]
  --systems LIST     of ${CHOICES.join(',')} (default node,cluster,spindle, and spindle-b
                     when --spindle-b is given)
  --apps LIST        of ${APPS.join(',')} (default both)
  --workers N        workers per system (default 2; plain node runs 1)
  --rounds N         A/B rounds, each system started fresh in each (default 3)
  --duration S       seconds of the measured run at 64 connections (default 8)
  --c1-duration S    seconds of the run at 1 connection (default 4)
  --spindle-b DIR    a second Spindle build: DIR/spindle, DIR/libspindle_node.so, DIR/js
  --label-b NAME     its name in the output (default "spindle <DIR/COMMIT>", if there)
  --build            cargo build the tree's release build even if it exists
  --perf             also profile each Spindle system's core threads on one hello run
                     (with --rounds 0: only that)
  --call-graph MODE  for --perf: dwarf (default) or fp
  --wait-quiet S     before each measured run, wait up to S s for the CPUs to be under
                     ${QUIET_LIMIT}% busy (default 0: measure at once, flag it if not)
  --out FILE         results JSON (default bench/results/cpu/<date>-<host>.json)
  --port N           the systems' public port (default 18242)
  --admin-port N     Spindle's admin port (default 18290)
  --keep             keep the work directory with every system's log`

function parseArgs (argv) {
  const o = { workers: 2, rounds: 3, duration: 8, c1Duration: 4, waitQuiet: 0, callGraph: 'dwarf', perf: false, build: false, keep: false }
  eachOption(argv, (a, val) => {
    const int = (min) => {
      const n = Number(val())
      if (!Number.isInteger(n) || n < min) throw new Error(`${a} needs an integer ≥ ${min}`)
      return n
    }
    switch (a) {
      case '--systems': o.systems = list(val(), CHOICES, 'system'); break
      case '--apps': o.apps = list(val(), APPS, 'app'); break
      case '--workers': o.workers = int(1); break
      case '--rounds': o.rounds = int(0); break
      case '--duration': o.duration = int(1); break
      case '--c1-duration': o.c1Duration = int(1); break
      case '--spindle-b': o.spindleB = path.resolve(val()); break
      case '--label-b': o.labelB = val(); break
      case '--build': o.build = true; break
      case '--perf': o.perf = true; break
      case '--call-graph': o.callGraph = list(val(), ['dwarf', 'fp'], 'call graph mode')[0]; break
      case '--wait-quiet': o.waitQuiet = int(0); break
      case '--out': o.out = val(); break
      case '--port': o.port = int(1024); break
      case '--admin-port': o.adminPort = int(1024); break
      case '--keep': o.keep = true; break
      case '-h': case '--help': console.log(USAGE); process.exit(0); break
      default: throw new Error(`unknown option ${a}\n${USAGE}`)
    }
  })
  o.systems = o.systems || ['node', 'cluster', 'spindle', ...(o.spindleB ? ['spindle-b'] : [])]
  o.apps = o.apps || APPS
  if (o.systems.includes('spindle-b') && !o.spindleB) throw new Error('spindle-b needs --spindle-b DIR')
  if (o.rounds === 0 && !o.perf) throw new Error('--rounds 0 measures nothing without --perf')
  for (const p of [o.port, o.adminPort]) {
    if (p != null && p >= 32768) throw new Error(`ports must be below the ephemeral range (32768), got ${p}`)
  }
  return o
}

const log = (...a) => console.log(...a)
const median = (xs) => {
  const v = xs.filter((x) => x != null).sort((a, b) => a - b)
  return v.length ? v[Math.floor((v.length - 1) / 2)] : null
}
const r1 = (x) => x == null ? null : Math.round(x * 10) / 10
const fmtInt = (x) => x == null ? '—' : Math.round(x).toLocaleString('en-US')
const slug = (s) => s.replace(/[^A-Za-z0-9.]+/g, '-').replace(/^-|-$/g, '')
// A/B runs come several a day: a default name already taken gets -2, -3…
function freeName (file) {
  const ext = path.extname(file)
  let f = file
  for (let i = 2; fs.existsSync(f); i++) f = `${file.slice(0, -ext.length)}-${i}${ext}`
  return f
}

// Thread groups by comm. The core's tokio threads are spindle-core; worker threads of
// builds that name them get spindle-w…; builds that do not leave them under node, with
// the JS main thread, V8's and libuv's threads.
function group (comm) {
  if (comm.startsWith('spindle-core')) return 'core'
  if (comm.startsWith('spindle-w') && comm !== 'spindle-watch') return 'workers'
  if (comm.startsWith('spindle-')) return 'spindle-other'
  return 'node'
}

// Runs fn (a wrk run) between two readings of every thread's CPU time in the system's
// process tree, and of the whole machine's.
async function cpuDuring (roots, fn, tickUs) {
  const before = threadTimes(tree(roots()))
  const m0 = cpuTimes()
  const res = await fn()
  const m1 = cpuTimes()
  const after = threadTimes(tree(roots()))
  const cpuUs = Object.fromEntries(GROUPS.map((g) => [g, 0]))
  const present = new Set(['total'])
  const byComm = {}
  for (const [key, t] of after) {
    const us = (t.ticks - (before.get(key)?.ticks || 0)) * tickUs
    const g = group(t.comm)
    present.add(g)
    cpuUs[g] += us
    cpuUs.total += us
    const c = (byComm[t.comm] ||= { threads: 0, cpu_ms: 0 })
    c.threads++
    c.cpu_ms = r1(c.cpu_ms + us / 1000)
  }
  const gone = [...before.keys()].filter((k) => !after.has(k)).length
  const perReq = Object.fromEntries(GROUPS.filter((g) => present.has(g)).map((g) => [g, res.requests ? r1(cpuUs[g] / res.requests) : null]))
  const total = m1.total - m0.total
  return {
    rps: Math.round(res.rps),
    requests: res.requests,
    p50_us: Math.round(res.p50_ms * 1000),
    p99_us: Math.round(res.p99_ms * 1000),
    errors: res.socket_errors + res.non2xx,
    cpu_ms: Object.fromEntries(Object.entries(cpuUs).filter(([g]) => present.has(g)).map(([g, us]) => [g, r1(us / 1000)])),
    us_per_request: perReq,
    by_comm: byComm,
    threads_gone: gone,
    machine_busy_pct: total > 0 ? Math.round(100 - (100 * (m1.idle - m0.idle)) / total) : null
  }
}

// With --wait-quiet S, a busy machine (a build, someone else's benchmark) is given up to
// S seconds to calm down before the run is measured anyway, and flagged.
async function quietCheck (results, what) {
  const s = results.settings
  const deadline = Date.now() + s.wait_quiet_s * 1000
  let busy = await busyPercent(s.quiet_check_s * 1000)
  if (busy > QUIET_LIMIT && Date.now() < deadline) log(`  waiting up to ${s.wait_quiet_s} s: ${busy}% CPU busy`)
  while (busy > QUIET_LIMIT && Date.now() < deadline) busy = await busyPercent(s.quiet_check_s * 1000)
  if (busy > QUIET_LIMIT) addNote(results, 'warning', `machine not quiet before ${what}: ${busy}% CPU busy`)
  return busy
}

function wrkNote (results, run, what) {
  if (run.errors) addNote(results, 'warning', `${what}: wrk saw ${run.errors} socket errors or non-2xx answers`)
}

const labelOf = (ctx, system) => system === 'spindle-b' ? ctx.spindleB.label : system === 'spindle' ? ctx.spindleLabel : SYSTEMS[system].label
const groupsText = (g) => GROUPS.filter((k) => k in g).map((k) => `${k} ${g[k]}`).join(', ')

// One system on one app in one round: a fresh start, a warm-up, the measured runs.
async function measure (ctx, results, { round, app, system }) {
  const s = results.settings
  const label = `round ${round + 1} · ${app} · ${labelOf(ctx, system)}`
  log(label)
  const run = await launch(ctx, system, { app, workers: system === 'node' ? 1 : s.workers })
  const entry = { round, app, system, label: labelOf(ctx, system), workers_seen: run.workers }
  try {
    const url = `${run.base}/`
    await wrk(url, { connections: s.connections, seconds: s.warmup_s })
    const busy = await quietCheck(results, `${label}, 64 connections`)
    entry.load = { busy_before_pct: busy, noisy: busy > QUIET_LIMIT, ...await cpuDuring(run.handle.roots, () => wrk(url, { connections: s.connections, seconds: s.duration_s }), ctx.tickUs) }
    wrkNote(results, entry.load, `${label}, 64 connections`)
    log(`  c64: ${fmtInt(entry.load.rps)} req/s; µs CPU per request: ${groupsText(entry.load.us_per_request)}${entry.load.noisy ? ' (not quiet before)' : ''}`)
    const busy1 = await quietCheck(results, `${label}, 1 connection`)
    entry.c1 = { busy_before_pct: busy1, noisy: busy1 > QUIET_LIMIT, ...await cpuDuring(run.handle.roots, () => wrk(url, { connections: 1, seconds: s.c1_duration_s }), ctx.tickUs) }
    wrkNote(results, entry.c1, `${label}, 1 connection`)
    log(`  c1: p50 ${entry.c1.p50_us} µs, p99 ${entry.c1.p99_us} µs; µs CPU per request: total ${entry.c1.us_per_request.total}${entry.c1.noisy ? ' (not quiet before)' : ''}`)
    // At concurrency 1 a wake-up across CPUs costs ≈60 µs on this VM and ≈0 on one CPU,
    // so the run above measures partly where the scheduler put wrk. Once more with the
    // system and wrk on CPU 0: the path's own cost (last, since it leaves them pinned).
    const busy2 = await quietCheck(results, `${label}, 1 connection, one CPU`)
    for (const pid of tree(run.handle.roots())) execFileSync('taskset', ['-a', '-p', '-c', '0', String(pid)], { stdio: 'ignore' })
    entry.c1_one_cpu = { busy_before_pct: busy2, noisy: busy2 > QUIET_LIMIT, ...await cpuDuring(run.handle.roots, () => wrk(url, { connections: 1, seconds: s.c1_duration_s, cpu: 0 }), ctx.tickUs) }
    wrkNote(results, entry.c1_one_cpu, `${label}, 1 connection, one CPU`)
    log(`  c1 on one CPU: p50 ${entry.c1_one_cpu.p50_us} µs, p99 ${entry.c1_one_cpu.p99_us} µs; µs CPU per request: total ${entry.c1_one_cpu.us_per_request.total}${entry.c1_one_cpu.noisy ? ' (not quiet before)' : ''}`)
  } finally {
    await run.handle.stop()
  }
  return entry
}

// Median and range over the rounds of each system × app; "added" is a system's c=1 p50
// minus plain node's in the same round, so a slow round moves both.
function summarize (results) {
  const rows = []
  for (const app of results.settings.apps) {
    for (const system of results.settings.systems) {
      const runs = results.runs.filter((r) => r.app === app && r.system === system)
      if (!runs.length) continue
      const stat = (xs) => {
        const v = xs.filter((x) => x != null)
        return v.length ? { median: median(v), min: Math.min(...v), max: Math.max(...v) } : null
      }
      const added = (part) => runs.map((r) => {
        const node = results.runs.find((n) => n.system === 'node' && n.app === app && n.round === r.round)
        return node && system !== 'node' ? r[part].p50_us - node[part].p50_us : null
      })
      rows.push({
        app,
        system,
        label: runs[0].label,
        rounds: runs.length,
        noisy_runs: runs.filter((r) => r.load.noisy || r.c1.noisy || r.c1_one_cpu.noisy).length,
        rps: stat(runs.map((r) => r.load.rps)),
        us_per_request: Object.fromEntries(GROUPS.filter((g) => g in runs[0].load.us_per_request).map((g) => [g, stat(runs.map((r) => r.load.us_per_request[g]))])),
        c1_p50_us: stat(runs.map((r) => r.c1.p50_us)),
        c1_p99_us: stat(runs.map((r) => r.c1.p99_us)),
        c1_us_per_request_total: stat(runs.map((r) => r.c1.us_per_request.total)),
        c1_added_us: stat(added('c1')),
        c1_one_cpu_p50_us: stat(runs.map((r) => r.c1_one_cpu.p50_us)),
        c1_one_cpu_added_us: stat(added('c1_one_cpu'))
      })
    }
  }
  return rows
}

function table (results) {
  const cell = (st, f = (x) => String(x)) => st == null ? '—' : st.min === st.max ? f(st.median) : `${f(st.median)} (${f(st.min)}–${f(st.max)})`
  const us = (x) => x.toFixed(1)
  const signed = (x) => `${x >= 0 ? '+' : ''}${x}`
  const head = ['app', 'system', 'req/s', ...GROUPS.map((g) => `${g} µs/req`), 'c=1 p50 µs', 'c=1 p99 µs', 'c=1 +µs over node', 'one CPU: c=1 p50 µs', 'one CPU: +µs', 'noisy runs']
  const rows = results.summary.map((r) => [r.app, r.label, cell(r.rps, fmtInt), ...GROUPS.map((g) => cell(r.us_per_request[g], us)), cell(r.c1_p50_us), cell(r.c1_p99_us), cell(r.c1_added_us, signed), cell(r.c1_one_cpu_p50_us), cell(r.c1_one_cpu_added_us, signed), `${r.noisy_runs}/${r.rounds}`])
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

// Waits for a child to exit, SIGINT then SIGKILL to it alone if it outlives limitMs.
function exited (child, limitMs) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGINT')
      setTimeout(() => child.kill('SIGKILL'), 10000).unref()
    }, limitMs)
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal }) })
  })
}

const perfReport = (data, extra) => new Promise((resolve, reject) => {
  const args = ['report', '-i', data, '--no-children', '--stdio', ...extra]
  execFile('perf', args, { maxBuffer: 256 * 2 ** 20, timeout: 900000 }, (err, stdout, stderr) => {
    if (err) return reject(new Error(`perf ${args.join(' ')} failed: ${err.message}\n${stderr}`))
    resolve({ command: `perf ${args.join(' ')}`, text: stdout })
  })
})

// One hello run of a Spindle system under perf record, sampling its core threads alone
// (cpu-clock: this VM has no hardware counters); writes the report next to the results.
async function profile (ctx, results, system, outDir) {
  const s = results.settings
  const label = labelOf(ctx, system)
  log(`perf · hello · ${label}`)
  const run = await launch(ctx, system, { app: 'hello', workers: s.workers })
  try {
    const url = `${run.base}/`
    await wrk(url, { connections: s.connections, seconds: s.warmup_s })
    const tids = [...threadTimes(tree(run.handle.roots())).values()].filter((t) => group(t.comm) === 'core').map((t) => t.tid)
    if (!tids.length) throw new Error('no thread named spindle-core* in its process')
    const busy = await quietCheck(results, `perf run of ${label}`)
    const data = path.join(ctx.work, `perf-${system}.data`)
    // perf stops when its `sleep` does: the load's length and a little on either side.
    const args = ['record', '-F', '999', '-g', '--call-graph', s.perf_call_graph, '-t', tids.join(','), '-o', data, '--', 'sleep', String(s.duration_s + 1)]
    const perf = spawn('perf', args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    perf.stderr.on('data', (c) => { stderr += c })
    const done = exited(perf, (s.duration_s + 60) * 1000)
    await sleep(300) // perf attached before the load starts
    const load = await wrk(url, { connections: s.connections, seconds: s.duration_s })
    const { code } = await done
    if (code !== 0) throw new Error(`perf record exited with ${code}: ${stderr.trim()}`)
    log(`  ${fmtInt(load.rps)} req/s under perf; reading the profile`)
    // Where the time goes by library, then the symbols, flat down to 0.5% (the profile is
    // flat: few symbols reach 1.5%), then who calls those above 1.5%.
    const dsos = await perfReport(data, ['--percent-limit', '0.5', '-g', 'none', '--sort', 'dso'])
    const flat = await perfReport(data, ['--percent-limit', '0.5', '-g', 'none'])
    const graph = await perfReport(data, ['--percent-limit', '1.5'])
    const crates = byCrate((await perfReport(data, ['--percent-limit', '0', '-g', 'none', '--sort', 'dso,sym'])).text)
    const calls = libcCalls((await perfReport(data, ['--children', '--percent-limit', '0.5', '-g', 'none', '--sort', 'dso,sym'])).text)
    const date = results.started.slice(0, 10)
    const file = freeName(path.join(outDir, `perf-${slug(label)}-${date}.txt`))
    const lines = (r) => r.text.split('\n').filter((l) => /^\s+[\d.]+%/.test(l)).map((l) => l.trim().replace(/\s+/g, ' '))
    const top = lines(flat)
    const head = [
      `# bench/cpu-per-request --perf: ${label}, hello, ${s.workers} workers, ${new Date().toISOString()}`,
      `# load: ${wrkCommand({ connections: s.connections, seconds: s.duration_s })}: ${fmtInt(load.rps)} req/s under perf; CPU ${busy}% busy before`,
      `# perf ${args.join(' ').replace(data, 'perf.data')}   (core threads: ${tids.join(', ')})`,
      '',
      '# by owner (every symbol; in the addon, by the crate its path starts with):',
      ...crates.map((c) => `#   ${c}`),
      '# libc entry points, with everything they call (the kernel included): the syscalls and malloc:',
      ...calls.map((c) => `#   ${c}`),
      ''
    ]
    fs.writeFileSync(file, [...head, ...[dsos, flat, graph].flatMap((r) => [`# ${r.command.replace(data, 'perf.data')}`, r.text])].join('\n'))
    log(`  by library: ${lines(dsos).join('; ')}\n  by owner: ${crates.join('; ')}\n  libc calls, inclusive: ${calls.join('; ')}\n  top symbols of the core threads:\n${top.slice(0, 12).map((l) => `    ${l}`).join('\n')}\n  report: ${path.relative(process.cwd(), file)}`)
    return { system, label, file: path.relative(ROOT, file), tids, rps: Math.round(load.rps), busy_before_pct: busy, call_graph: s.perf_call_graph, dsos: lines(dsos), crates, libc_calls: calls, top: top.slice(0, 20) }
  } finally {
    await run.handle.stop()
  }
}

// Where the core's time goes by owner: the kernel, libc, and in Spindle's addon each
// crate (hyper, tokio, http, bytes, spindle_core…), summed over every sampled symbol of
// a `--sort dso,sym` report. A generic wrapper (`<core::pin::Pin<P> as …>`) counts for
// core; small as that is, it is not hidden.
function byCrate (text) {
  const sums = {}
  for (const line of text.split('\n')) {
    const m = /^\s+([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)$/.exec(line)
    if (!m) continue
    const owner = m[2] === 'libspindle_node.so' ? `addon: ${m[3].replace(/^[<&*\s]+/, '').replace(/^(dyn|mut|const) /, '').split('::')[0]}` : m[2]
    sums[owner] = (sums[owner] || 0) + Number(m[1])
  }
  return Object.entries(sums).sort((a, b) => b[1] - a[1]).filter(([, p]) => p >= 0.5).map(([k, p]) => `${p.toFixed(1)}% ${k}`)
}

// The libc functions the core calls, each with all it calls (a --children report): for
// the syscall wrappers that is the syscall's whole kernel time. Thread start-up frames,
// which hold everything, are left out.
function libcCalls (text) {
  return text.split('\n').map((l) => /^\s+([\d.]+)%\s+[\d.]+%\s+libc\.so\S*\s+\[\.\]\s+(.*)$/.exec(l))
    .filter((m) => m && !/^(start_thread|clone3?)$/.test(m[2].trim()))
    .map((m) => `${Number(m[1]).toFixed(1)}% ${m[2].trim()}`)
}

// What the work app's work costs here, on the systems' Node: minimum of 2,000 runs in a
// fresh process (the minimum is the least disturbed by the rest of the machine).
function measureWork (ctx) {
  const script = `const { hash, WORK_ITERATIONS } = require(${JSON.stringify(path.join(BENCH, 'apps/common.js'))});
    for (let i = 0; i < 500; i++) hash(WORK_ITERATIONS);
    let best = Infinity;
    for (let i = 0; i < 2000; i++) { const t = process.hrtime.bigint(); hash(WORK_ITERATIONS); best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e3) }
    console.log(best)`
  return r1(Number(execFileSync(ctx.node, ['-e', script], { encoding: 'utf8' })))
}

// The tree's release build: built when missing (or with --build), else used as it is.
function ensureBuild (ctx, rebuild) {
  const have = [ctx.spindle, path.join(path.dirname(ctx.spindle), 'libspindle_node.so')].every((f) => fs.existsSync(f))
  if (have && !rebuild) return
  log('==> cargo build --release -p spindle-cli -p spindle-node')
  execFileSync('cargo', ['build', '--release', '-p', 'spindle-cli', '-p', 'spindle-node', '--manifest-path', path.join(ROOT, 'Cargo.toml')], { stdio: 'inherit' })
}

function spindleB (dir, label) {
  for (const f of ['spindle', 'libspindle_node.so', 'js/main.js']) {
    if (!fs.existsSync(path.join(dir, f))) throw new Error(`--spindle-b ${dir}: no ${f} there (expected spindle, libspindle_node.so and js/)`)
  }
  let commit = null
  try { commit = fs.readFileSync(path.join(dir, 'COMMIT'), 'utf8').trim() } catch {}
  let version = null
  try { version = execFileSync(path.join(dir, 'spindle'), ['--version'], { encoding: 'utf8' }).trim() } catch {}
  return { dir, commit, version, label: label || (commit ? `spindle ${commit}` : `spindle (${path.basename(dir)})`) }
}

async function main () {
  const o = parseArgs(process.argv.slice(2))
  const ctx = createContext({ port: o.port, adminPort: o.adminPort, packages: false })
  if (!o.keep) workDir = ctx.work
  ctx.tickUs = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
  if (o.spindleB) ctx.spindleB = spindleB(o.spindleB, o.labelB)
  if (o.systems.includes('spindle')) {
    ensureBuild(ctx, o.build)
    ctx.versions.spindle = execFileSync(ctx.spindle, ['--version'], { encoding: 'utf8' }).trim()
  }
  ctx.spindleLabel = `spindle (tree ${ctx.versions.spindle_rev}${ctx.versions.spindle_dirty ? '+changes' : ''})`
  const m = { ...machine(), clk_tck: 1e6 / ctx.tickUs }
  const started = new Date().toISOString()
  const outDir = path.join(BENCH, 'results/cpu')
  const out = path.resolve(o.out || freeName(path.join(outDir, `${started.slice(0, 10)}-${m.host}.json`)))
  const results = {
    format: 1,
    tool: 'bench/cpu-per-request',
    started,
    command: `bench/cpu-per-request${process.argv.length > 2 ? ' ' + process.argv.slice(2).map((a) => /[\s"']/.test(a) ? JSON.stringify(a) : a).join(' ') : ''}`,
    machine: m,
    versions: { ...ctx.versions, tree_commit: ctx.versions.spindle_rev, tree_dirty: ctx.versions.spindle_dirty, spindle_b: ctx.spindleB || null },
    settings: {
      systems: o.systems,
      labels: Object.fromEntries(o.systems.map((x) => [x, labelOf(ctx, x)])),
      apps: o.apps,
      workers: o.workers,
      rounds: o.rounds,
      warmup_s: 2,
      duration_s: o.duration,
      c1_duration_s: o.c1Duration,
      connections: 64,
      quiet_check_s: 0.5,
      quiet_limit_pct: QUIET_LIMIT,
      wait_quiet_s: o.waitQuiet,
      work_iterations: WORK_ITERATIONS,
      perf: o.perf,
      perf_call_graph: o.callGraph,
      groups: { core: 'comm spindle-core*', 'spindle-other': 'other spindle-* (not spindle-w*)', workers: 'spindle-w* (not spindle-watch)', node: 'every other thread', total: 'all threads of the process tree' }
    },
    commands: {
      load: wrkCommand({ connections: 64, seconds: o.duration }),
      latency: wrkCommand({ connections: 1, seconds: o.c1Duration }),
      latency_one_cpu: `taskset -a -p -c 0 <every pid of the system>; taskset -c 0 ${wrkCommand({ connections: 1, seconds: o.c1Duration })}`
    },
    work_us: o.rounds && o.apps.includes('work') ? measureWork(ctx) : null,
    runs: [],
    summary: [],
    perf: [],
    notes: []
  }
  log(`bench/cpu-per-request on ${m.host}: ${m.nproc} × ${m.model}, ${m.kernel}; Node ${ctx.versions.node}; tree ${ctx.versions.spindle_rev}${ctx.versions.spindle_dirty ? ' (with uncommitted changes)' : ''}`)
  log(`systems: ${o.systems.map((x) => labelOf(ctx, x)).join(', ')}; ${o.workers} workers; ${o.rounds} rounds${results.work_us ? `; the work app's work = ${results.work_us} µs here` : ''}`)
  const t0 = Date.now()
  try {
    for (let round = 0; round < o.rounds; round++) {
      const order = round % 2 ? [...o.systems].reverse() : o.systems
      for (const app of o.apps) {
        for (const system of order) {
          try {
            results.runs.push(await measure(ctx, results, { round, app, system }))
          } catch (err) {
            if (err.fatal) throw err
            console.error(`  error: ${err.message}`)
            results.notes.push(`round ${round + 1} · ${app} · ${labelOf(ctx, system)} failed: ${err.message.split('\n')[0]}`)
          }
        }
      }
    }
    if (o.perf) {
      fs.mkdirSync(outDir, { recursive: true })
      for (const system of o.systems.filter((x) => x.startsWith('spindle'))) {
        try {
          results.perf.push(await profile(ctx, results, system, outDir))
        } catch (err) {
          if (err.fatal) throw err
          console.error(`  error: ${err.message}`)
          results.notes.push(`perf run of ${labelOf(ctx, system)} failed: ${err.message.split('\n')[0]}`)
        }
      }
    }
  } finally {
    results.summary = summarize(results)
    results.finished = new Date().toISOString()
    results.duration_s = Math.round((Date.now() - t0) / 1000)
    fs.mkdirSync(path.dirname(out), { recursive: true })
    fs.writeFileSync(out, JSON.stringify(results, null, 1) + '\n')
    if (o.keep) log(`logs kept in ${ctx.work}`)
    else fs.rmSync(ctx.work, { recursive: true, force: true })
  }
  if (results.summary.length) {
    log(`\nCPU per request (µs, utime+stime of the system's threads over requests wrk completed; wrk not counted): median (min–max) of ${o.rounds} round(s), ${o.workers} workers (node: 1)\n`)
    log(table(results))
  }
  for (const n of results.notes) log(`note: ${n}`)
  log(`\nresults: ${path.relative(process.cwd(), out)} (${results.duration_s} s)`)
  if (results.notes.some((n) => n.includes(' failed: '))) process.exitCode = 1
}

// Whatever way the run ends, no system it started outlives it.
let workDir = null
process.on('exit', killAll)
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  process.on(signal, () => {
    console.error(`\nbench/cpu-per-request: ${signal}, stopping the systems it started`)
    killAll()
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true })
    process.exit(code)
  })
}

main().catch((err) => {
  console.error(`bench/cpu-per-request: ${err.message}`)
  process.exitCode = 1
})
