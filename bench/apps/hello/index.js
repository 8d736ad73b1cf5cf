'use strict'
// The smallest useful handler: what a proxy costs shows up undiluted.
require('../common').serve((req, res) => { res.end('hello') })
