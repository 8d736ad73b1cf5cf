'use strict'
// Every request does one unit of fixed CPU work (≈2 ms, see ../common.js): throughput
// is bounded by the workers' CPU, not by the path in front of them.
const { serve, work } = require('../common')
serve((req, res) => { res.end(String(work(1))) })
