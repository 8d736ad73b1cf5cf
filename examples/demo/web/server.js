'use strict'
// A plain node:http app, unchanged from how it would run alone: it listens on PORT.
// Under Spindle the listen is moved onto a private socket and the ingress forwards to it.
const http = require('node:http')
const { threadId } = require('node:worker_threads')

let served = 0
const server = http.createServer(async (req, res) => {
  served++
  if (req.url === '/quote') {
    // An app-to-app call: plain fetch to the other app's mesh name; no port, no URL config.
    const answer = await fetch('http://api.plt.local/').then((r) => r.json())
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ hello: 'from spindle', worker: threadId, api: answer }) + '\n')
    return
  }
  if (req.url === '/busy') {
    // Spin for 200 ms: a second request is routed to the other, idle worker.
    const until = Date.now() + 200
    while (Date.now() < until);
  }
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ hello: 'from spindle', worker: threadId, served }) + '\n')
})

server.listen(process.env.PORT || 3000, () => {
  console.log(`demo web app listening (worker thread ${threadId})`)
})
