'use strict'
// Reading a bench script's command line: options with a value, and lists of choices, with
// errors that name the option.

// The comma-separated items of `v`, each one of `allowed` (`what` names them in errors).
function list (v, allowed, what) {
  const xs = v.split(',').map((s) => s.trim()).filter(Boolean)
  for (const x of xs) if (!allowed.includes(x)) throw new Error(`unknown ${what} "${x}"; one of ${allowed.join(', ')}`)
  return xs
}

// Calls `onOption(a, val)` for each option `a` of `argv`; `val()` takes the argument after
// it as its value (an error when there is none).
function eachOption (argv, onOption) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`)
      return argv[++i]
    }
    onOption(a, val)
  }
}

module.exports = { list, eachOption }
