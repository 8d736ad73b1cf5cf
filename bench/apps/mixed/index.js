'use strict'
// Mostly tiny answers with a few slow ones: GET /heavy does five units of CPU work
// (≈10 ms, see ../common.js), anything else answers at once. bench/lib/mixed.lua sends
// every 10th request to /heavy, so the mix is 90/10 and the same in every run.
const { serve, work } = require('../common')
serve((req, res) => {
  if (req.url === '/heavy') res.end(String(work(5)))
  else res.end('hello')
})
