'use strict'
// Unit tests of the pino-compatible logger that `@platformatic/globals` hands apps.
// Run by `node --test js/test/` (tests/e2e/js_units.rs runs them with the other tests).

const assert = require('node:assert/strict')
const { test } = require('node:test')
const { createLogger } = require('../logger')

function capture (options = {}) {
  const lines = []
  const logger = createLogger({ name: 'api', write: (line) => lines.push(JSON.parse(line)), ...options })
  return { logger, lines }
}

// The serializers Fastify gives the logger it is handed (`loggerInstance`), through
// `logger.child({}, { serializers })`, in their shape.
const fastifySerializers = {
  req: (req) => ({ method: req.method, url: req.url }),
  res: (reply) => ({ statusCode: reply.statusCode })
}

test('a child logs fields through the serializers it was given', () => {
  const { logger, lines } = capture()
  const request = { method: 'GET', url: '/products', raw: { huge: 'x'.repeat(1000) } }
  request.self = request
  const fastify = logger.child({}, { serializers: fastifySerializers })
  fastify.child({ reqId: 'req-1' }).info({ req: request }, 'incoming request')
  fastify.info({ res: { statusCode: 200, body: 'not logged' }, responseTime: 1.5 }, 'request completed')
  assert.deepEqual(lines[0].req, { method: 'GET', url: '/products' })
  assert.equal(lines[0].reqId, 'req-1')
  assert.equal(lines[0].name, 'api')
  assert.deepEqual(lines[1].res, { statusCode: 200 })
  assert.equal(lines[1].responseTime, 1.5)
})

test('serializers apply to bindings, are inherited, and do not reach the parent', () => {
  const { logger, lines } = capture()
  const child = logger.child({ user: { id: 7, password: 'secret' } }, {
    serializers: { user: (user) => ({ id: user.id }) }
  })
  const grandchild = child.child({}, { serializers: { extra: (n) => n * 2 } })
  grandchild.info({ user: { id: 8, password: 'secret' }, extra: 21 }, 'm')
  logger.info({ user: { id: 9, password: 'shown' } }, 'parent')
  assert.deepEqual(lines[0].user, { id: 8 })
  assert.equal(lines[0].extra, 42)
  assert.ok(!JSON.stringify(lines[0]).includes('secret'))
  assert.deepEqual(lines[1].user, { id: 9, password: 'shown' })
})

test('a serializer for err replaces the default one, also for an Error logged alone', () => {
  const { logger, lines } = capture({ serializers: { err: (err) => ({ kind: err.name }) } })
  logger.error(new TypeError('boom'))
  logger.error({ err: new Error('again') }, 'with a message')
  assert.deepEqual(lines[0].err, { kind: 'TypeError' })
  assert.equal(lines[0].msg, 'boom')
  assert.deepEqual(lines[1].err, { kind: 'Error' })
})

test('without serializers, err is serialised as pino does and undefined fields are left out', () => {
  const { logger, lines } = capture()
  logger.info({ err: Object.assign(new Error('e'), { code: 'E_X' }), gone: undefined }, 'm')
  assert.equal(lines[0].err.type, 'Error')
  assert.equal(lines[0].err.code, 'E_X')
  assert.ok(!('gone' in lines[0]))
})
