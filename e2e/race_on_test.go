//go:build race

package e2e

// raceEnabled reports whether this test binary runs under the race detector;
// the daemon under test is then built with -race too.
const raceEnabled = true
