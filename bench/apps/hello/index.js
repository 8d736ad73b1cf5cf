'use strict'
// The smallest useful handler: what a proxy costs shows up undiluted.
require('node:http')
  .createServer((req, res) => { res.end('hello') })
  .listen(process.env.PORT || 3000)
