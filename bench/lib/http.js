'use strict'
// Small HTTP client pieces for probing: every call opens its own connection (agent:
// false), so on systems where the kernel or a primary process spreads connections, each
// probe may reach a different worker.
const http = require('node:http')
const https = require('node:https')
const { performance } = require('node:perf_hooks')

// Epoch milliseconds with sub-millisecond precision, comparable across threads.
const now = () => performance.timeOrigin + performance.now()

function request (url, { method = 'GET', timeoutMs = 1000 } = {}) {
  return new Promise((resolve, reject) => {
    // https: the benchmarks' self-signed certificate is not verified.
    const [client, tls] = url.startsWith('https:') ? [https, { rejectUnauthorized: false }] : [http, {}]
    const req = client.request(url, { method, agent: false, ...tls }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(), at: now() }))
      res.on('error', reject)
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

// GET /__who: which worker answered, on which Node.
async function who (base, { hold = 0, timeoutMs = 1000 } = {}) {
  const res = await request(`${base}/__who?hold=${hold}`, { timeoutMs })
  if (res.status !== 200) throw new Error(`GET /__who answered ${res.status}: ${res.body.slice(0, 200)}`)
  return { ...JSON.parse(res.body), at: res.at }
}

module.exports = { request, who, now }
