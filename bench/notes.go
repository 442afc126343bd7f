package main

// notes follow the figures in docs/benchmarks.md.
const notes = `
`
