// Scores a results file of the HTTP caching test suite (npm package
// http-cache-tests) the way cuttle tracks it: the number of `required` tests
// passed, where a test whose prerequisite (depends_on) did not pass does not
// count. Usage: node score.mjs SUITE_DIR RESULTS.json [BASELINE_FILE]
// Prints the score and the failing required ids; exits 1 when a baseline is
// given and the score is below it, or when a required test that Squid 5.7
// passes in the same setup (squid-5.7-required-passes, next to the baseline)
// fails.
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import path from 'node:path'

const [suiteDir, resultsFile, baselineFile] = process.argv.slice(2)
const index = (await import(pathToFileURL(path.join(suiteDir, 'tests', 'index.mjs')).href)).default
const results = JSON.parse(readFileSync(resultsFile, 'utf8'))

const tests = index.flatMap(suite => suite.tests)
const byId = new Map(tests.map(t => [t.id, t]))
const memo = new Map()
function passed (id) {
  if (memo.has(id)) return memo.get(id)
  memo.set(id, false) // a dependency cycle never passes
  const t = byId.get(id)
  const ok = results[id] === true && (t?.depends_on ?? []).every(passed)
  memo.set(id, ok)
  return ok
}

const counts = {}
const failing = []
for (const t of tests) {
  const kind = t.kind ?? 'required'
  counts[kind] ??= { passed: 0, total: 0 }
  counts[kind].total++
  if (passed(t.id)) {
    counts[kind].passed++
  } else if (kind === 'required') {
    const r = results[t.id]
    failing.push(`${t.id}: ${r === undefined ? 'not run' : r === true ? 'a prerequisite failed' : r.join(': ')}`)
  }
}
for (const [kind, c] of Object.entries(counts)) {
  console.log(`cache-tests ${kind}: ${c.passed}/${c.total} passed`)
}
for (const f of failing) console.log(`  failing required: ${f}`)

if (baselineFile) {
  const baseline = parseInt(readFileSync(baselineFile, 'utf8'), 10)
  const score = counts.required?.passed ?? 0
  if (score < baseline) {
    console.log(`cache-tests: required score ${score} is below the recorded ${baseline}`)
    process.exit(1)
  }
  const squidFile = path.join(path.dirname(baselineFile), 'squid-5.7-required-passes')
  const squidPasses = readFileSync(squidFile, 'utf8').split('\n').filter(Boolean)
  const behind = squidPasses.filter(id => !passed(id))
  if (behind.length > 0) {
    console.log(`cache-tests: ${behind.length} required test(s) that Squid 5.7 passes fail: ${behind.join(', ')}`)
    process.exit(1)
  }
  console.log(`cache-tests: required score ${score} (recorded ${baseline}); all ${squidPasses.length} that Squid 5.7 passes pass`)
}
