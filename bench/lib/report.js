'use strict'
// Turns a results JSON of bench/run into markdown tables (printed, and written into
// docs/benchmarks.md between the markers) and PNG plots (bench/plot.py).
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { BENCH } = require('./context')

const BEGIN = '<!-- bench/run: begin (generated from bench/results/*.json; edit outside the markers) -->'
const END = '<!-- bench/run: end -->'
const ORDER = ['node', 'cluster', 'pm2', 'watt', 'spindle', 'spindle-standby', 'spindle-node20']
const LABELS = { node: 'node', cluster: 'node cluster', pm2: 'PM2', watt: 'Watt', spindle: 'Spindle', 'spindle-standby': 'Spindle, standbyWorkers 1', 'spindle-node20': 'Spindle (Node 20)' }
const PLOTS = { throughput: 'bench-throughput.png', p99: 'bench-p99.png', chaos: 'bench-chaos.png' }

const int = (x) => x == null ? '—' : Math.round(x).toLocaleString('en-US')
const ms = (x) => x == null ? '—' : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : int(x)
const mb = (x) => x == null ? '—' : int(x)
const median = (xs) => {
  const v = xs.filter((x) => x != null).sort((a, b) => a - b)
  return v.length ? v[Math.floor((v.length - 1) / 2)] : null
}
const byOrder = (a, b) => ORDER.indexOf(a.system) - ORDER.indexOf(b.system) || a.workers - b.workers
const table = (head, rows) => [
  `| ${head.join(' | ')} |`,
  `|${head.map(() => '---').join('|')}|`,
  ...rows.map((r) => `| ${r.join(' | ')} |`)
].join('\n')

function header (r) {
  const v = r.versions
  const s = r.settings
  const m = r.machine
  const mins = Math.round(r.duration_s / 60)
  const noisy = r.notes.filter((n) => n.startsWith('machine not quiet')).length
  const lines = [
    `### ${r.settings.quick ? 'Quick run (1 run, short durations: for development, not for comparison)' : 'Run'} of ${r.started.slice(0, 10)} on ${m.host}`,
    '',
    `- Command: \`${r.command}\` (took ${mins ? `${mins} min` : `${r.duration_s} s`}). Raw results: \`${r.file}\`.`,
    `- Machine: ${m.nproc} × ${m.model}, ${m.memory_gib} GiB, ${m.kernel}. The load generator shares these CPUs.`,
    `- Versions: every system on Node ${v.node}${v.node20 && r.throughput.some((t) => t.system === 'spindle-node20') ? ` (and Spindle on Node ${v.node20})` : ''}; PM2 ${v.pm2} (cluster mode); wattpm ${v.wattpm} with @platformatic/node ${v.platformatic_node} (\`wattpm start\`, defaults); Spindle ${v.spindle_rev}${v.spindle_dirty ? ' with uncommitted changes' : ''} (release build); ${v.wrk}.`,
    `- Load: \`${r.commands.load}\` (mixed: \`-s bench/lib/mixed.lua\`), median of ${s.runs} run${s.runs > 1 ? 's' : ''} after a ${s.warmup_s} s warm-up${s.warmup_heavy_s ? ` (cpu and mixed: ${s.warmup_heavy_s} s, for V8 to compile their hot loop at its top tier)` : ''}; each system started fresh per app, all its workers seen answering before the first run.`,
    `- Apps (\`bench/apps\`): hello answers \`hello\`; cpu does one unit of fixed CPU work per request (${s.cpu_unit_iterations.toLocaleString('en-US')} iterations of an integer hash, ${r.cpu_unit_ms} ms on this machine); mixed answers \`hello\` except every 10th request, \`/heavy\`, which does ${s.heavy_units} units.`,
    `- Before every measured run the harness samples the CPUs for ${s.quiet_check_s} s; ${noisy ? `${noisy} of them found more than ${s.quiet_limit_pct}% busy (see the notes at the end)` : `none found more than ${s.quiet_limit_pct}% busy`}.`
  ]
  return lines.join('\n')
}

function throughputTables (r, plots, imgPrefix) {
  const out = []
  const apps = [...new Set(r.throughput.filter((t) => t.rps != null).map((t) => t.app))]
  if (!apps.length) return ''
  out.push('#### Throughput, latency and memory under load')
  out.push('')
  out.push('RSS and PSS: the peak, sampled every 0.5 s during each run, of the sum over the system\'s whole process tree (median over runs). RSS counts pages shared between processes (the node binary) once per process; PSS divides them among the processes sharing them.')
  for (const app of apps) {
    out.push('', `**${app}**`, '')
    const rows = r.throughput.filter((t) => t.app === app && t.rps != null).sort(byOrder)
    out.push(table(['system', 'workers', 'req/s', 'p50 ms', 'p99 ms', 'RSS MB', 'PSS MB'],
      rows.map((t) => [LABELS[t.system], t.workers, int(t.rps), ms(t.p50_ms), ms(t.p99_ms), mb(t.rss_mb), mb(t.pss_mb)])))
  }
  if (plots) out.push('', `![requests per second](${imgPrefix}${PLOTS.throughput})`, '', `![p99 latency](${imgPrefix}${PLOTS.p99})`)
  return out.join('\n')
}

function coldStartTable (r) {
  const groups = new Map()
  for (const t of r.throughput) {
    const k = `${t.system}/${t.workers}`
    if (!groups.has(k)) groups.set(k, { system: t.system, workers: t.workers, xs: [] })
    groups.get(k).xs.push(t.cold_start_ms)
  }
  if (!groups.size) return ''
  const rows = [...groups.values()].sort(byOrder)
  return ['#### Cold start', '',
    'From spawning the system (`node app`, `node cluster.js`, `pm2 start` with a fresh PM2_HOME so its daemon starts too, `wattpm start`, `spindle start`) to the first 200 on `GET /`, polled every ≈3 ms on new connections; median over the starts of this run (one per app).', '',
    table(['system', 'workers', 'cold start ms', 'starts'], rows.map((g) => [LABELS[g.system], g.workers, ms(median(g.xs)), g.xs.length]))
  ].join('\n')
}

function latencyTable (r) {
  const rows = r.throughput.filter((t) => t.c1_p50_us != null).sort(byOrder)
  if (!rows.length) return ''
  const node = rows.find((t) => t.system === 'node')
  return ['#### Added latency at concurrency 1', '',
    `\`${r.commands.latency}\` on hello, median of the runs' p50; "added" is the difference to a single \`node\` process.`, '',
    table(['system', 'workers', 'p50 µs', 'added µs'], rows.map((t) => [LABELS[t.system], t.workers, int(t.c1_p50_us), node ? (t === node ? '—' : `${t.c1_p50_us - node.c1_p50_us >= 0 ? '+' : ''}${t.c1_p50_us - node.c1_p50_us}`) : '—']))
  ].join('\n')
}

function faultTable (r) {
  if (!r.faults.length) return ''
  const f = r.settings.faults
  const rec = (p) => p.recovered ? `${ms(p.median_ms)} (max ${ms(p.max_ms)})` : `not within ${f.limit_s} s`
  const rows = [...r.faults].sort(byOrder).map((x) => [
    LABELS[x.system],
    `${rec(x.crash)}${x.crash.recovered < x.crash.runs.length && x.crash.recovered ? `; ${x.crash.runs.length - x.crash.recovered} not within ${f.limit_s} s` : ''}`,
    x.crash.failed == null ? '—' : `${int(x.crash.failed)} of ${int(x.crash.requests)}`,
    rec(x.stuck),
    x.stuck.failed == null ? '—' : `${int(x.stuck.failed)} of ${int(x.stuck.requests)}`
  ])
  return ['#### Faults', '',
    `hello with ${f.workers} workers (fault routes on), under ${f.connections} keep-alive connections of a Node client that counts every request that errors, times out (${f.request_timeout_ms / 1000} s) or answers other than 200, without retrying. ${f.crashes} crashes (\`process.exit(1)\` in a worker, ${f.crash_window_s} s apart or more), then ${f.stalls} stuck event loop (\`while (true) {}\`). "→ new worker" is the time from the fault to the first answer, to the load or to a probe on a new connection every 5 ms, from a worker never seen before (pid:threadId); the wait is bounded at ${f.limit_s} s.`, '',
    table(['system', `crash → new worker answers, ms (median of ${f.crashes})`, 'failed requests over the crashes', 'stuck loop → new worker answers, ms', `failed requests in the ${f.stall_window_s} s after the stall`], rows)
  ].join('\n')
}

function chaosTable (r, plots, imgPrefix) {
  if (!r.chaos.length) return ''
  const c = r.settings.chaos
  const rows = [...r.chaos].sort(byOrder).map((x) => [
    LABELS[x.system], int(x.ok), int(x.failed), x.crashes_at_s.length,
    Object.entries(x.failure_kinds).map(([k, n]) => `${k} ${n}`).join(', ') || '—'
  ])
  return ['#### Chaos over time', '',
    `hello with ${c.workers} workers under ${c.connections} keep-alive connections for ${c.seconds} s; a worker crashes every ${c.every_s} s from second ${c.first_s} on (\`POST /__crash\`, on a new connection, lands on whichever worker the system picks).`, '',
    table(['system', 'requests ok', 'failed', 'crashes', 'failures by kind'], rows),
    ...(plots ? ['', `![requests and failures per second under crashes](${imgPrefix}${PLOTS.chaos})`] : [])
  ].join('\n')
}

function notesList (r) {
  if (!r.notes.length) return ''
  const shown = r.notes.slice(0, 15).map((n) => `- ${n}`)
  if (r.notes.length > 15) shown.push(`- … and ${r.notes.length - 15} more in the results file`)
  return ['#### Notes', '', ...shown].join('\n')
}

function markdown (r, { imgPrefix = 'img/', plots = true } = {}) {
  return [header(r), throughputTables(r, plots, imgPrefix), coldStartTable(r), latencyTable(r), faultTable(r), chaosTable(r, plots, imgPrefix), notesList(r)]
    .filter(Boolean).join('\n\n') + '\n'
}

function updateDocs (file, md) {
  const text = fs.readFileSync(file, 'utf8')
  const a = text.indexOf(BEGIN)
  const b = text.indexOf(END)
  if (a < 0 || b < a) throw new Error(`${file}: no "${BEGIN}" … "${END}" markers; put both lines where the results belong`)
  fs.writeFileSync(file, text.slice(0, a + BEGIN.length) + '\n\n' + md + '\n' + text.slice(b))
}

// Runs bench/plot.py with bench/.venv's Python (set up by bench/run).
function plot (resultsFile, outDir) {
  const python = path.join(BENCH, '.venv/bin/python')
  if (!fs.existsSync(python)) return { ok: false, why: 'bench/.venv is missing (bench/run creates it)' }
  fs.mkdirSync(outDir, { recursive: true })
  const res = spawnSync(python, [path.join(BENCH, 'plot.py'), resultsFile, outDir], { encoding: 'utf8', timeout: 120000 })
  if (res.status !== 0) return { ok: false, why: `bench/plot.py failed: ${res.stderr || res.error}` }
  return { ok: true, files: res.stdout.trim().split('\n').filter(Boolean) }
}

// Records `note` in the results (the report prints them with the tables) and logs it now,
// as `kind` ("note", "warning").
function addNote (results, kind, note) {
  console.log(`  ${kind}: ${note}`)
  results.notes.push(note)
}

module.exports = { markdown, updateDocs, plot, addNote, BEGIN, END, PLOTS }
