'use strict'
// What the harness reads from the machine: process trees and their memory, how busy the
// CPUs are, whether a port is taken.
const fs = require('node:fs')
const net = require('node:net')

// pid → parent pid of every process we may read.
function parents () {
  const map = new Map()
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8')
      // The command name may hold spaces and parens: fields start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      map.set(Number(name), Number(fields[1]))
    } catch {} // gone meanwhile
  }
  return map
}

// The roots and all their descendants that exist now.
function tree (roots) {
  const pp = parents()
  const children = new Map()
  for (const [pid, ppid] of pp) {
    if (!children.has(ppid)) children.set(ppid, [])
    children.get(ppid).push(pid)
  }
  const out = new Set()
  const stack = roots.filter((pid) => pp.has(pid))
  while (stack.length) {
    const pid = stack.pop()
    if (out.has(pid)) continue
    out.add(pid)
    stack.push(...(children.get(pid) || []))
  }
  return [...out]
}

// RSS and PSS (kB) of a process tree. RSS counts shared pages (the node binary, shared
// libraries) once per process; PSS splits each shared page among its users, so the sum
// over a tree is what the tree really holds.
function treeMemory (roots) {
  let rss = 0
  let pss = 0
  const pids = tree(roots)
  for (const pid of pids) {
    try {
      const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
      rss += Number(/^Rss:\s+(\d+)/m.exec(text)?.[1] || 0)
      pss += Number(/^Pss:\s+(\d+)/m.exec(text)?.[1] || 0)
    } catch {} // exited between listing and reading
  }
  return { rssKb: rss, pssKb: pss, pids: pids.length }
}

// Samples a tree's memory every `everyMs` until stopped; returns the peak of each.
function sampleMemory (roots, everyMs = 500) {
  let peak = { rssKb: 0, pssKb: 0, pids: 0 }
  const take = () => {
    const m = treeMemory(roots())
    if (m.rssKb > peak.rssKb) peak = { ...peak, rssKb: m.rssKb, pids: m.pids }
    if (m.pssKb > peak.pssKb) peak.pssKb = m.pssKb
  }
  const timer = setInterval(take, everyMs)
  return { stop () { clearInterval(timer); take(); return peak } }
}

// Every thread of the given processes: its name (comm) and CPU time so far (utime +
// stime, in clock ticks), keyed "pid/tid". A thread that ends takes its time with it, so
// compare two readings around a run of a system whose threads live through it.
function threadTimes (pids) {
  const out = new Map()
  for (const pid of pids) {
    let tids
    try { tids = fs.readdirSync(`/proc/${pid}/task`) } catch { continue } // gone meanwhile
    for (const tid of tids) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
        const close = stat.lastIndexOf(')')
        // Fields from the 3rd (state) on; utime and stime are the 14th and 15th.
        const f = stat.slice(close + 2).split(' ')
        out.set(`${pid}/${tid}`, { pid, tid: Number(tid), comm: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(f[11]) + Number(f[12]) })
      } catch {}
    }
  }
  return out
}

function cpuTimes () {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const idle = f[3] + f[4] // idle + iowait
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0)
  return { idle, total }
}

// Percent of all CPUs busy over the next `ms` (the servers under test are idle then, so
// this is the rest of the machine).
async function busyPercent (ms = 1000) {
  const a = cpuTimes()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const b = cpuTimes()
  const total = b.total - a.total
  return total > 0 ? Math.round(100 - (100 * (b.idle - a.idle)) / total) : 0
}

// True when something accepts connections on 127.0.0.1:port.
function portTaken (port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.setTimeout(1000)
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('timeout', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => resolve(false))
  })
}

function alive (pid) {
  try { process.kill(pid, 0); return true } catch { return false }
}

module.exports = { tree, treeMemory, sampleMemory, busyPercent, cpuTimes, threadTimes, portTaken, alive }
