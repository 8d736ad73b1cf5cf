'use strict'
// A pino-compatible logger for apps written for Watt, which hands every worker a pino
// instance through `@platformatic/globals`. Apps call it the ways pino documents — level
// methods with (obj, msg, ...args) or (msg, ...args), child(bindings), level get and set,
// isLevelEnabled, serializers — and its lines are pino's JSON, so the core passes them
// through with the app and worker labels, like the lines of an app's own pino. No npm dependency: js/ has
// none, and this is the small part of pino that apps reach through the globals.

const { hostname } = require('node:os')

const VALUES = Object.freeze({ trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 })
const LABELS = Object.freeze(Object.fromEntries(Object.entries(VALUES).map(([k, v]) => [v, k])))

/**
 * A root logger. `write` receives each line, newline included; `name` becomes pino's
 * `name` (Watt sets it to the application id); `serializers` are pino's, by key.
 */
function createLogger ({ name, level = 'info', write, serializers = {} }) {
  let chindings = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())}`
  if (name !== undefined) chindings += `,"name":${JSON.stringify(name)}`
  return new Logger({ write, chindings, level, serializers })
}

class Logger {
  #write
  #chindings
  #levelVal
  // pino's serializers: a logged field (or binding) under one of these keys is logged as
  // what its function returns. Fastify hands its `req`, `res` and `err` serializers to
  // the logger it is given (`loggerInstance`) through child(); without them a request
  // line would hold the whole request object.
  #serializers

  constructor ({ write, chindings, level, serializers }) {
    this.#write = write
    this.#chindings = chindings
    this.#levelVal = levelValue(level)
    this.#serializers = serializers
  }

  get levels () { return { values: VALUES, labels: LABELS } }

  get level () { return this.#levelVal === Infinity ? 'silent' : LABELS[this.#levelVal] }
  set level (level) { this.#levelVal = levelValue(level) }
  get levelVal () { return this.#levelVal }

  isLevelEnabled (level) {
    const value = VALUES[level]
    return value !== undefined && value >= this.#levelVal
  }

  child (bindings, options = {}) {
    if (bindings === null || typeof bindings !== 'object') {
      throw new TypeError('logger.child() needs an object of bindings')
    }
    // As pino: the child's serializers are its parent's with its own over them, and they
    // apply to its bindings too.
    const serializers = options.serializers
      ? { ...this.#serializers, ...options.serializers }
      : this.#serializers
    return new Logger({
      write: this.#write,
      chindings: this.#chindings + fields(bindings, serializers),
      level: options.level ?? this.level,
      serializers
    })
  }

  /** The bindings of this logger and its parents, without pid and hostname (as pino). */
  bindings () {
    const all = JSON.parse(`{${this.#chindings.slice(1)}}`)
    delete all.pid
    delete all.hostname
    return all
  }

  setBindings (bindings) {
    this.#chindings += fields(bindings, this.#serializers)
  }

  // Lines are handed over as they are logged; there is no buffer to flush.
  flush (cb) {
    if (typeof cb === 'function') process.nextTick(cb)
  }

  trace (...args) { this.#log(VALUES.trace, args) }
  debug (...args) { this.#log(VALUES.debug, args) }
  info (...args) { this.#log(VALUES.info, args) }
  warn (...args) { this.#log(VALUES.warn, args) }
  error (...args) { this.#log(VALUES.error, args) }
  fatal (...args) { this.#log(VALUES.fatal, args) }
  silent () {}

  #log (value, args) {
    if (value < this.#levelVal) return
    let obj = null
    let msg
    let rest
    const [first] = args
    if (first !== null && typeof first === 'object') {
      obj = first
      msg = args[1]
      rest = args.slice(2)
    } else if (first === null && args.length === 1) {
      msg = null
      rest = []
    } else {
      msg = first
      rest = args.slice(1)
    }
    if (obj instanceof Error) {
      // pino logs an Error argument as `err`, with its message as the message by default.
      if (msg === undefined) msg = obj.message
      obj = { err: obj }
    } else if (obj && msg === undefined && obj.msg === undefined && obj.err instanceof Error) {
      msg = obj.err.message
    }
    if (typeof msg === 'string') msg = format(msg, rest)
    let line = `{"level":${value},"time":${Date.now()}${this.#chindings}`
    if (obj) line += fields(obj, this.#serializers)
    if (msg !== undefined) line += `,"msg":${stringify(msg)}`
    this.#write(line + '}\n')
  }
}

function levelValue (level) {
  if (level === 'silent') return Infinity
  const value = VALUES[level]
  if (value === undefined) throw new Error(`unknown log level ${JSON.stringify(level)} (expected one of: ${Object.keys(VALUES).join(', ')}, silent)`)
  return value
}

// Every enumerable own field as `,"key":value`, through its serializer if there is one for
// its key (pino's `err` one by default); undefined, functions and symbols are left out as
// JSON.stringify leaves them out of objects.
function fields (obj, serializers = {}) {
  let out = ''
  for (const key of Object.keys(obj)) {
    let value = obj[key]
    if (value === undefined) continue
    const serialize = Object.hasOwn(serializers, key) ? serializers[key] : undefined
    if (typeof serialize === 'function') value = serialize(value)
    else if (key === 'err' && isErrorLike(value)) value = serializeError(value)
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue
    out += `,${JSON.stringify(key)}:${stringify(value)}`
  }
  return out
}

function isErrorLike (value) {
  return value instanceof Error || (value !== null && typeof value === 'object' && typeof value.message === 'string' && typeof value.stack === 'string')
}

// What pino's standard `err` serializer keeps: the class, message and stack, the errors of an
// AggregateError, a cause that is an error, and every other enumerable field (code, status, …).
function serializeError (err, seen = new Set()) {
  seen.add(err)
  const out = {
    type: typeof err.constructor === 'function' ? err.constructor.name : err.name,
    message: err.message,
    stack: err.stack
  }
  if (Array.isArray(err.errors)) {
    out.aggregateErrors = err.errors.map((e) => isErrorLike(e) && !seen.has(e) ? serializeError(e, seen) : e)
  }
  if (isErrorLike(err.cause) && !seen.has(err.cause)) out.cause = serializeError(err.cause, seen)
  for (const key in err) {
    if (out[key] !== undefined) continue
    const value = err[key]
    if (isErrorLike(value)) {
      if (!seen.has(value)) out[key] = serializeError(value, seen)
    } else {
      out[key] = value
    }
  }
  return out
}

// JSON that never throws: a cycle becomes "[Circular]" (as pino writes it) and a BigInt its
// decimal string.
function stringify (value) {
  const stack = []
  try {
    return JSON.stringify(value, function (key, v) {
      if (typeof v === 'bigint') return v.toString()
      if (v === null || typeof v !== 'object') return v
      // `this` is the object holding `v`: unwind the path to it, then look for `v` on it.
      while (stack.length > 0 && stack[stack.length - 1] !== this) stack.pop()
      if (stack.includes(v)) return '[Circular]'
      stack.push(v)
      return v
    }) ?? 'null'
  } catch (err) {
    return JSON.stringify(`[unserializable: ${err.message}]`)
  }
}

// pino's printf-style placeholders; arguments without a placeholder are dropped, as pino
// drops them.
function format (msg, args) {
  if (args.length === 0 || !msg.includes('%')) return msg
  let i = 0
  return msg.replace(/%([sdifjoOc%])/g, (match, type) => {
    if (type === '%') return '%'
    if (i >= args.length) return match
    const arg = args[i++]
    switch (type) {
      case 's': return typeof arg === 'object' && arg !== null ? stringify(arg) : String(arg)
      case 'd': return String(Number(arg))
      case 'i': return String(Math.floor(Number(arg)))
      case 'f': return String(parseFloat(arg))
      case 'c': return ''
      default: return stringify(arg)
    }
  })
}

module.exports = { createLogger, serializeError }
