package service

import (
	"regexp"
	"strconv"
	"testing"
)

func TestNewObjectID(t *testing.T) {
	hex24 := regexp.MustCompile(`^[0-9a-f]{24}$`)
	seen := map[string]bool{}
	prev := ""
	for range 100_000 {
		id := newObjectID()
		if !hex24.MatchString(id) {
			t.Fatalf("id %q is not 24 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		seen[id] = true
		if prev != "" {
			if id[8:18] != prev[8:18] {
				t.Fatalf("the process part changed: %q then %q", prev, id)
			}
			c, _ := strconv.ParseUint(id[18:], 16, 32)
			pc, _ := strconv.ParseUint(prev[18:], 16, 32)
			if c != (pc+1)%(1<<24) {
				t.Fatalf("counter of %q does not follow %q", id, prev)
			}
			// Later ids sort after earlier ones, but where the 3-byte
			// counter wraps within one second.
			if id <= prev && !(c == 0 && id[:8] == prev[:8]) {
				t.Fatalf("id %q sorts before the previous %q", id, prev)
			}
		}
		prev = id
	}
}
