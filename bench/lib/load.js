'use strict'
// A keep-alive load client that records every failure, run in a worker thread so that
// its busy event loop does not delay the harness's own timers and probes.
//   const load = startLoad({ url, connections: 32, timeoutMs: 2000, onWorker })
//   ... const result = await load.stop()
//   load.mark('label')   counts so far, taken in the client at once: result.marks
// result: { start, end, ok, failed, perSecond: [{ ok, failed }], failures: [{ at, kind }],
//           firstSeen: { "<worker>": at }, marks: { label: { at, ok, failed } } }.
// Times are epoch ms (see http.js `now`).
// A request fails when it errors, times out (timeoutMs) or answers other than 200. It is
// not retried: each failure is one a client would have seen.
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads')

if (isMainThread) {
  module.exports.startLoad = function startLoad ({ url, connections = 32, timeoutMs = 2000, maxSeconds = 300, onWorker }) {
    const worker = new Worker(__filename, { workerData: { url, connections, timeoutMs, maxSeconds } })
    let done
    const finished = new Promise((resolve, reject) => {
      worker.on('message', (m) => {
        if (m.type === 'worker' && onWorker) onWorker(m.id, m.at)
        else if (m.type === 'result') resolve(m.result)
      })
      worker.once('error', reject)
      worker.once('exit', (code) => reject(new Error(`load client exited (${code}) before its result`)))
    })
    const started = new Promise((resolve) => worker.once('online', resolve))
    return {
      started,
      mark (label) { worker.postMessage({ mark: label }) },
      stop () {
        if (!done) {
          worker.postMessage('stop')
          done = finished.finally(() => worker.terminate())
        }
        return done
      }
    }
  }
} else {
  const http = require('node:http')
  const { now } = require('./http')
  const { url, connections, timeoutMs, maxSeconds } = workerData
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
  const start = now()
  let stopping = false
  const perSecond = []
  const failures = []
  const firstSeen = {}
  const marks = {}
  let ok = 0

  const bucket = (at) => {
    const i = Math.max(0, Math.floor((at - start) / 1000))
    while (perSecond.length <= i) perSecond.push({ ok: 0, failed: 0 })
    return perSecond[i]
  }
  const fail = (kind) => {
    const at = now()
    failures.push({ at, kind })
    bucket(at).failed++
  }

  function once () {
    return new Promise((resolve) => {
      const req = http.get(url, { agent }, (res) => {
        res.resume()
        res.on('end', () => {
          const at = now()
          if (res.statusCode !== 200) { fail(`status ${res.statusCode}`); return resolve() }
          ok++
          bucket(at).ok++
          const id = res.headers['x-worker']
          if (id && !(id in firstSeen)) {
            firstSeen[id] = at
            parentPort.postMessage({ type: 'worker', id, at })
          }
          resolve()
        })
        res.on('error', (err) => { fail(err.code || err.message); resolve() })
      })
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })))
      req.on('error', (err) => { fail(err.code || err.message); resolve() })
    })
  }

  async function loop () {
    // Bounded by stop, and by maxSeconds should the harness never say stop.
    while (!stopping && now() - start < maxSeconds * 1000) await once()
  }

  parentPort.on('message', (m) => {
    if (m === 'stop') stopping = true
    else if (m.mark) marks[m.mark] = { at: now(), ok, failed: failures.length }
  })
  Promise.all(Array.from({ length: connections }, loop)).then(() => {
    agent.destroy()
    parentPort.postMessage({ type: 'result', result: { start, end: now(), ok, failed: failures.length, perSecond, failures, firstSeen, marks } })
  })
}
