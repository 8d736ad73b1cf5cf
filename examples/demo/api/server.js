'use strict'
// An internal app: not on the public port, reachable from the other apps of the process
// at http://api.plt.local through Spindle's mesh.
const http = require('node:http')
const { threadId } = require('node:worker_threads')

const quotes = [
  'Let it fail.',
  'Replace before you stop.',
  'Watch the loop from outside it.'
]

http.createServer((req, res) => {
  res.setHeader('content-type', 'application/json')
  const quote = quotes[Math.floor(Math.random() * quotes.length)]
  res.end(JSON.stringify({ quote, from: 'api', worker: threadId }) + '\n')
}).listen(process.env.PORT || 3001)
