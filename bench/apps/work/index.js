'use strict'
// Every request does ≈100 µs of fixed CPU work (WORK_ITERATIONS of the integer hash, see
// ../common.js): small enough that what the path in front of the app costs still shows,
// large enough that the app is not only that path.
const { serve, hash, WORK_ITERATIONS } = require('../common')
serve((req, res) => { res.end(String(hash(WORK_ITERATIONS))) })
