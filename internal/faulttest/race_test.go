//go:build race

package faulttest

// raceEnabled: this test binary runs with the race detector, so the calibd
// binary it builds does too (and reuses the packages go test -race built).
const raceEnabled = true
