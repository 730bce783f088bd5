//go:build race

package sandbox

// raceEnabled: instances start ~10× slower under the race detector, so
// tests with very short deadlines lengthen them.
const raceEnabled = true
