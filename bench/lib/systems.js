'use strict'
// The systems under test and how each is started, found and stopped. Every system runs
// the same app directory on the same Node binary; each start gets its own files under
// the run's work directory. Only processes started here are ever signalled: each system
// runs in a process group of its own (detached), and PM2's daemon, which leaves that
// group, is found through its PM2_HOME.
const { spawn, spawnSync, execFile } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { tree, portTaken, alive } = require('./proc')
const { request, who, now } = require('./http')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
let seq = 0

function spawnGroup (ctx, name, cmd, args, env) {
  const log = path.join(ctx.work, `${name}.log`)
  const fd = fs.openSync(log, 'a')
  const child = spawn(cmd, args, { env, detached: true, stdio: ['ignore', fd, fd] })
  fs.closeSync(fd)
  let exited = false
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => { exited = true; resolve({ code, signal }) }))
  child.once('error', () => {}) // reported through 'exit' and the log
  return { child, log, exit, get exited () { return exited } }
}

const groupAlive = (pgid) => { try { process.kill(-pgid, 0); return true } catch { return false } }
const signalGroup = (pgid, sig) => { try { process.kill(-pgid, sig) } catch {} }

// SIGTERM to the group, SIGKILL after graceMs; returns when no process of the group is
// left (bounded: gives up after 10 more seconds, which would be reported by the next
// start finding its port taken).
async function stopGroup (g, graceMs = 5000) {
  const pgid = g.child.pid
  if (!groupAlive(pgid)) return
  signalGroup(pgid, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(20)
  if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL')
  const hard = Date.now() + 10000
  while (groupAlive(pgid) && Date.now() < hard) await sleep(20)
}

function tail (file, lines = 20) {
  try { return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') } catch { return '' }
}

// tls: the app terminates TLS itself (systems that cannot do it in front of the app).
function baseEnv (ctx, { faults, tls }) {
  const env = { ...process.env, PORT: String(ctx.port), NODE_ENV: 'production' }
  delete env.BENCH_TLS_KEY
  delete env.BENCH_TLS_CERT
  if (tls) Object.assign(env, { BENCH_TLS_KEY: tls.key, BENCH_TLS_CERT: tls.cert })
  if (faults) env.BENCH_FAULT_ROUTES = '1'
  else delete env.BENCH_FAULT_ROUTES
  return env
}

function groupHandle (g, graceMs) {
  return {
    log: g.log,
    roots: () => [g.child.pid],
    exitedEarly: () => g.exited,
    stop: () => stopGroup(g, graceMs),
    kill: () => signalGroup(g.child.pid, 'SIGKILL')
  }
}

// Every system started and not yet stopped, so that an interrupted run can end them.
const live = new Set()

// Ends at once, synchronously, every system still running (for exit and signal handlers).
function killAll () {
  for (const h of live) { try { h.kill() } catch {} }
  live.clear()
}

const SYSTEMS = {
  node: {
    label: 'node',
    maxWorkers: 1,
    start (ctx, { appDir, faults }) {
      const g = spawnGroup(ctx, `node-${++seq}`, ctx.node, [path.join(appDir, 'index.js')], baseEnv(ctx, { faults }))
      return groupHandle(g)
    }
  },
  cluster: {
    label: 'node cluster',
    start (ctx, { appDir, workers, faults, tls }) {
      const g = spawnGroup(ctx, `cluster-${++seq}`, ctx.node, [path.join(ctx.bench, 'lib/cluster.js'), appDir, String(workers)], baseEnv(ctx, { faults, tls }))
      return groupHandle(g)
    }
  },
  pm2: {
    label: 'PM2',
    // Cluster mode, as documented for HTTP apps; PM2 restarts a worker that exits. The
    // daemon is started by `pm2 start` (so cold start includes it), in a PM2_HOME of its
    // own, and runs on the Node that runs the pm2 CLI (ctx.node).
    start (ctx, { appDir, workers, faults }) {
      const home = path.join(ctx.work, `pm2-${++seq}`)
      fs.mkdirSync(home)
      const appEnv = { PORT: String(ctx.port), NODE_ENV: 'production', ...(faults ? { BENCH_FAULT_ROUTES: '1' } : {}) }
      const ecosystem = path.join(home, 'ecosystem.json')
      fs.writeFileSync(ecosystem, JSON.stringify({
        apps: [{
          name: 'bench',
          script: path.join(appDir, 'index.js'),
          cwd: appDir,
          exec_mode: 'cluster',
          instances: workers,
          env: appEnv,
          merge_logs: true,
          out_file: path.join(home, 'app.out.log'),
          error_file: path.join(home, 'app.err.log')
        }]
      }, null, 2))
      const env = { ...baseEnv(ctx, { faults }), PM2_HOME: home }
      const cli = spawnGroup(ctx, `pm2-${seq}`, ctx.node, [ctx.pm2, 'start', ecosystem], env)
      const daemonPid = () => {
        try { return Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8').trim()) || null } catch { return null }
      }
      return {
        log: cli.log,
        roots: () => [daemonPid()].filter(Boolean),
        exitedEarly: () => cli.exited && cli.child.exitCode !== 0,
        kill () {
          const pid = daemonPid()
          spawnSync(ctx.node, [ctx.pm2, 'kill'], { env, timeout: 10000, stdio: 'ignore' })
          for (const p of pid ? tree([pid]) : []) { try { process.kill(p, 'SIGKILL') } catch {} }
          signalGroup(cli.child.pid, 'SIGKILL')
        },
        async stop () {
          const pid = daemonPid()
          const doomed = pid ? tree([pid]) : []
          await new Promise((resolve) => execFile(ctx.node, [ctx.pm2, 'kill'], { env, timeout: 30000 }, () => resolve()))
          // pm2 kill normally ends everything; whatever it left of what it started goes now.
          for (const p of doomed) if (alive(p)) { try { process.kill(p, 'SIGKILL') } catch {} }
          await stopGroup(cli)
        }
      }
    }
  },
  watt: {
    label: 'Watt',
    // `wattpm start` (production mode: a crashed worker is restarted at once); defaults
    // otherwise, health checks included. TMPDIR keeps its management socket in the run's
    // directory.
    start (ctx, { appDir, workers, faults, tls }) {
      const dir = path.join(ctx.work, `watt-${++seq}`)
      fs.mkdirSync(dir)
      fs.writeFileSync(path.join(dir, 'watt.json'), JSON.stringify({
        $schema: `https://schemas.platformatic.dev/wattpm/${ctx.versions.wattpm}.json`,
        server: { hostname: '127.0.0.1', port: ctx.port },
        logger: { level: 'warn' },
        watch: false,
        applications: [{ id: 'app', path: appDir, workers }]
      }, null, 2))
      // Watt's server.https covers its own HTTP server, not a Node app that creates its
      // server (each worker listens itself): with tls, the app serves https in its worker.
      const env = { ...baseEnv(ctx, { faults, tls }), TMPDIR: dir }
      return groupHandle(spawnGroup(ctx, `watt-${seq}`, ctx.node, [ctx.wattpm, 'start', dir], env))
    }
  },
  spindle: {
    label: 'Spindle',
    usesAdminPort: true,
    start (ctx, opts) { return startSpindle(ctx, opts, ctx.node) }
  },
  'spindle-standby': {
    label: 'Spindle, standbyWorkers 1',
    usesAdminPort: true,
    // A standby takes no requests: one throughput point shows what it costs in memory.
    throughputOnly: { apps: ['hello'], workers: [2] },
    start (ctx, opts) { return startSpindle(ctx, opts, ctx.node, { standbyWorkers: 1 }) }
  },
  'spindle-b': {
    // A second Spindle build for A/B comparisons (bench/cpu-per-request --spindle-b DIR):
    // DIR holds spindle, libspindle_node.so and js/, the layout of a release package.
    label: 'Spindle (build B)',
    usesAdminPort: true,
    start (ctx, opts) {
      const b = ctx.spindleB
      if (!b) throw new Error('spindle-b needs a second build: bench/cpu-per-request --spindle-b DIR')
      return startSpindle(ctx, opts, ctx.node, {}, { bin: path.join(b.dir, 'spindle'), env: { SPINDLE_ADDON: path.join(b.dir, 'libspindle_node.so'), SPINDLE_JS: path.join(b.dir, 'js') } })
    }
  },
  'spindle-node20': {
    label: 'Spindle (Node 20)',
    usesAdminPort: true,
    nodeKey: 'node20',
    start (ctx, opts) { return startSpindle(ctx, opts, ctx.node20) }
  }
}

// build: which Spindle, and the environment that points it at its addon and JS shim (the
// tree's build finds its own beside it, whatever the caller's environment says).
const TREE_BUILD = { env: { SPINDLE_ADDON: undefined, SPINDLE_JS: undefined } }
function startSpindle (ctx, { appDir, workers, faults, tls }, node, extra = {}, build = { ...TREE_BUILD, bin: ctx.spindle }) {
  const config = path.join(ctx.work, `spindle-${++seq}.json`)
  const https = tls && { https: { key: tls.key, cert: tls.cert } }
  fs.writeFileSync(config, JSON.stringify({
    ...extra,
    server: { hostname: '127.0.0.1', port: ctx.port, ...https },
    metrics: { hostname: '127.0.0.1', port: ctx.adminPort },
    applications: [{ id: 'app', path: appDir, workers }]
  }, null, 2))
  const g = spawnGroup(ctx, `spindle-${seq}`, build.bin, ['start', '-c', config, '--json', '--node', node], { ...baseEnv(ctx, { faults }), ...build.env })
  return groupHandle(g)
}

// Polls GET / on a new connection every few ms until it answers 200; returns when.
async function firstAnswer (base, handle, limitMs) {
  const deadline = Date.now() + limitMs
  while (Date.now() < deadline) {
    if (handle.exitedEarly()) throw new Error('it exited before answering')
    try {
      const res = await request(`${base}/`, { timeoutMs: 1000 })
      if (res.status === 200) return res.at
    } catch {}
    await sleep(3)
  }
  throw new Error(`no 200 on GET / within ${limitMs / 1000} s`)
}

// Asks /__who in rounds of 8 concurrent calls, each held 30 ms so they overlap, until
// `count` distinct workers have answered. Returns every answer's worker and node.
async function seeWorkers (base, count, limitMs) {
  const seen = new Map()
  const deadline = Date.now() + limitMs
  while (seen.size < count && Date.now() < deadline) {
    const round = await Promise.allSettled(Array.from({ length: 8 }, () => who(base, { hold: 30 })))
    for (const r of round) if (r.status === 'fulfilled') seen.set(r.value.worker, r.value.node)
    if (seen.size < count) await sleep(20)
  }
  if (seen.size < count) {
    throw new Error(`only ${seen.size} distinct worker(s) answered within ${limitMs / 1000} s, expected ${count}: ${[...seen.keys()].join(', ') || 'none'}`)
  }
  return seen
}

// Starts a system on an app and waits until all its workers answer. Returns the handle,
// the cold start (spawn → first 200) and the workers seen. Refuses taken ports.
// tls: {key, cert} files: the system serves https on its port (bench/tls).
async function launch (ctx, name, { app, workers, faults = false, tls = null }) {
  const sys = SYSTEMS[name]
  for (const port of [ctx.port, ...(sys.usesAdminPort ? [ctx.adminPort] : [])]) {
    if (await portTaken(port)) {
      // Fatal for a whole run: every later start would find it taken too.
      throw Object.assign(new Error(`port ${port} on 127.0.0.1 is already in use; stop what listens there (or pick others with --port/--admin-port)`), { fatal: true })
    }
  }
  const base = `${tls ? 'https' : 'http'}://127.0.0.1:${ctx.port}`
  const expectNode = ctx.nodeVersions[sys.nodeKey || 'node']
  const t0 = now()
  const started = sys.start(ctx, { appDir: path.join(ctx.bench, 'apps', app), workers, faults, tls })
  live.add(started)
  const handle = { ...started, stop: () => started.stop().finally(() => live.delete(started)) }
  try {
    const first = await firstAnswer(base, handle, 60000)
    const seen = await seeWorkers(base, workers, 30000)
    for (const [worker, node] of seen) {
      if (node !== expectNode) throw new Error(`worker ${worker} runs Node ${node}, expected ${expectNode}`)
    }
    return { handle, base, coldStartMs: first - t0, workers: [...seen.keys()] }
  } catch (err) {
    await handle.stop()
    throw new Error(`${sys.label} (${workers} worker(s), app ${app}) did not start properly: ${err.message}\n--- ${handle.log}:\n${tail(handle.log)}`)
  }
}

module.exports = { SYSTEMS, launch, seeWorkers, killAll, sleep, tail }
