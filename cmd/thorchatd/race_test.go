//go:build race

package main

// raceEnabled reports whether the race detector is on (it slows the
// start-up figure several times).
const raceEnabled = true
