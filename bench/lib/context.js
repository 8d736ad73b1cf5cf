'use strict'
// Where everything the harness runs lives, and which versions those are.
const { execFileSync, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const BENCH = path.join(__dirname, '..')
const ROOT = path.join(BENCH, '..')
const NODE24 = path.join(ROOT, '.cache/node24/node_modules', `node-linux-${process.arch === 'arm64' ? 'arm64' : 'x64'}`, 'bin/node')

const version = (bin) => {
  try { return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim() } catch { return null }
}
const pkgVersion = (name) => JSON.parse(fs.readFileSync(path.join(BENCH, 'node_modules', name, 'package.json'), 'utf8')).version

// BENCH_NODE: the Node every system runs on (default: Node 24 from .cache/node24, as
// installed by bench/run). BENCH_NODE20: Node 20 for the spindle-node20 row (default:
// `node` on PATH when it is 20.x). packages: false for tools that run none of the
// npm-installed systems (PM2, Watt), so bench/node_modules need not exist.
function createContext ({ port = 18242, adminPort = 18290, packages = true } = {}) {
  const node = process.env.BENCH_NODE || (fs.existsSync(NODE24) ? NODE24 : process.execPath)
  const node20Candidate = process.env.BENCH_NODE20 || 'node'
  const node20Version = version(node20Candidate)
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'spindle-bench-'))
  const ctx = {
    root: ROOT,
    bench: BENCH,
    work,
    port,
    adminPort,
    node,
    node20: node20Version && node20Version.startsWith('v20.') ? node20Candidate : null,
    nodeVersions: { node: version(node), node20: node20Version && node20Version.startsWith('v20.') ? node20Version : null },
    spindle: path.join(ROOT, 'target/release/spindle'),
    pm2: path.join(BENCH, 'node_modules/pm2/bin/pm2'),
    wattpm: path.join(BENCH, 'node_modules/wattpm/bin/cli.js'),
    versions: {}
  }
  ctx.versions = { node: ctx.nodeVersions.node, node20: ctx.nodeVersions.node20 }
  if (packages) {
    try {
      Object.assign(ctx.versions, {
        pm2: pkgVersion('pm2'),
        wattpm: pkgVersion('wattpm'),
        platformatic_node: pkgVersion('@platformatic/node')
      })
    } catch (err) {
      throw new Error(`bench/node_modules is missing or incomplete (${err.message}); run bench/run once, or npm ci in bench/`)
    }
  }
  ctx.versions.spindle = version(ctx.spindle)
  const git = (...args) => spawnSync('git', ['-C', ROOT, ...args], { encoding: 'utf8' }).stdout.trim()
  ctx.versions.spindle_rev = git('rev-parse', '--short', 'HEAD')
  // Uncommitted changes to Spindle's own code would make the rev a lie; say so.
  ctx.versions.spindle_dirty = git('status', '--porcelain', '--', 'crates', 'js', 'Cargo.toml', 'Cargo.lock') !== ''
  ctx.versions.wrk = (spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout || '').split('\n')[0].replace(/ Copyright.*/, '').trim() || null
  return ctx
}

function machine () {
  const cpus = os.cpus()
  return {
    host: os.hostname(),
    nproc: cpus.length,
    model: cpus[0]?.model || 'unknown',
    kernel: `${os.type()} ${os.release()}`,
    memory_gib: Math.round(os.totalmem() / 2 ** 30)
  }
}

module.exports = { createContext, machine, ROOT, BENCH }
