'use strict'
// The `node cluster` system: the primary forks N workers that each load the app, and
// forks a new one whenever one exits (what a production cluster script does; cluster
// itself restarts nothing). Connections are distributed by the primary (round robin,
// Node's default on Linux).
//   node bench/lib/cluster.js APP_DIR WORKERS
const cluster = require('node:cluster')
const path = require('node:path')

const [appDir, workersArg] = process.argv.slice(2)
if (cluster.isPrimary) {
  const workers = Number(workersArg)
  if (!appDir || !(workers >= 1)) {
    console.error('usage: node bench/lib/cluster.js APP_DIR WORKERS')
    process.exit(2)
  }
  let stopping = false
  for (let i = 0; i < workers; i++) cluster.fork()
  cluster.on('exit', () => { if (!stopping) cluster.fork() })
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      stopping = true
      for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM')
      process.exit(0)
    })
  }
} else {
  require(path.resolve(appDir))
}
