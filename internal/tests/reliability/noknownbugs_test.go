//go:build !knownbugs

package reliability

// knownBugsBuilt is true with -tags knownbugs (see knownbugs_test.go).
const knownBugsBuilt = false
