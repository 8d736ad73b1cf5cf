'use strict'
// Runs wrk (one thread, a fixed number of connections and seconds) and reads its report.
const { execFile } = require('node:child_process')

// wrk prints durations as 812.00us, 1.23ms, 2.01s.
function toMs (text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text)
  if (!m) throw new Error(`wrk: cannot read the duration "${text}"`)
  const v = Number(m[1])
  return { us: v / 1000, ms: v, s: v * 1000, m: v * 60000 }[m[2]]
}

function parse (out) {
  const num = (re) => { const m = re.exec(out); return m ? Number(m[1]) : 0 }
  const pct = (p) => {
    const m = new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(out)
    if (!m) throw new Error(`wrk: no ${p}% latency in its output:\n${out}`)
    return toMs(m[1])
  }
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  return {
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    p50_ms: pct(50),
    p99_ms: pct(99),
    socket_errors: errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/)
  }
}

// cpu: run wrk on that CPU alone (taskset), for runs where placement matters.
// headers: extra request headers, e.g. ['Connection: close'] for a new connection (and,
// over https, a new TLS handshake) per request.
function wrk (url, { connections, seconds, script, cpu, headers = [] }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...headers.flatMap((h) => ['-H', h]), ...(script ? ['-s', script] : []), url]
  const [bin, argv] = cpu == null ? ['wrk', args] : ['taskset', ['-c', String(cpu), 'wrk', ...args]]
  return new Promise((resolve, reject) => {
    // wrk stops by itself after `seconds`; the timeout only catches a wrk that hangs.
    execFile(bin, argv, { timeout: (seconds + 30) * 1000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`wrk ${args.join(' ')} failed: ${err.message}\n${stderr}`))
      try { resolve(parse(stdout)) } catch (e) { reject(e) }
    })
  })
}

function command ({ connections, seconds, script }) {
  return `wrk -t1 -c${connections} -d${seconds}s --latency${script ? ` -s ${script}` : ''} URL`
}

module.exports = { wrk, parse, command }
