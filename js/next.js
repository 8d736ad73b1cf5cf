'use strict'
// A Next.js app (Watt's `@platformatic/next`) has no entry file: the worker starts Next's
// own production server on the build in the app's directory, the way a hand-written
// server.js would, and takes its http.Server as the app's server. The core checked the
// build before starting (spindle_config::next): it exists and was made for the path the
// app is served under, which requests keep.

const http = require('node:http')
const { createRequire } = require('node:module')
const path = require('node:path')

/**
 * Loads `next` from the app's own node_modules and prepares its production server on
 * `dir`. Returns what the worker treats as the app's module: the server as its default
 * export.
 */
async function load ({ app, dir }) {
  let next
  try {
    next = createRequire(path.join(dir, 'package.json'))('next')
  } catch (err) {
    throw new Error(
      `app "${app}" is a Next.js app (@platformatic/next), but the next package cannot be ` +
      `loaded from ${dir}: ${err.message}; install the app's dependencies there (npm ci)`
    )
  }
  // `dir` matters: Next would otherwise look for .next/ in the working directory, which
  // is Spindle's, and a worker cannot change it.
  const nextApp = (next.default ?? next)({ dev: false, dir })
  await nextApp.prepare()
  const handle = nextApp.getRequestHandler()
  const server = http.createServer((req, res) => {
    Promise.resolve(handle(req, res)).catch((err) => {
      // Next answers its own errors; this is one it could not answer.
      process.stderr.write(`app "${app}": Next.js failed on ${req.method} ${req.url}: ${err && err.stack ? err.stack : err}\n`)
      if (!res.headersSent) {
        res.statusCode = 500
        res.end()
      } else {
        res.destroy(err)
      }
    })
  })
  // No close(): the worker closes the server (letting requests in flight finish) and
  // ends; Next holds nothing that outlives the thread.
  return { default: server }
}

module.exports = { load }
