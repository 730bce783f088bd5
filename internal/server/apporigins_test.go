package server

import (
	"context"
	"errors"
	"testing"
	"time"
)

// AppOrigins reads the applications' origins lazily: a known origin is
// answered from the set until ttl, an unknown one reads again at most once
// a second, a failed read keeps the previous set, and "" never reads.
func TestAppOrigins(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	origins := []string{"https://App.example.com"}
	var reads int
	var fail error
	a := NewAppOrigins(func(context.Context) ([]string, error) {
		reads++
		return origins, fail
	}, 5*time.Second)
	a.now = func() time.Time { return now }

	step := func(origin string, want bool, wantReads int) {
		t.Helper()
		if got := a.AllowOrigin(origin); got != want || reads != wantReads {
			t.Fatalf("AllowOrigin(%q) = %v after %d reads; want %v after %d", origin, got, reads, want, wantReads)
		}
	}
	step("", false, 0)
	step("https://app.example.com", true, 1) // case-insensitive
	step("https://app.example.com", true, 1) // from the set
	step("https://new.example.com", false, 1)
	origins = append(origins, "https://new.example.com")
	now = now.Add(999 * time.Millisecond)
	step("https://new.example.com", false, 1) // misses read at most once a second
	now = now.Add(time.Millisecond)
	step("https://new.example.com", true, 2) // a new application's origin works without waiting for ttl
	origins = nil
	now = now.Add(4 * time.Second)
	step("https://app.example.com", true, 2) // a dropped origin stays until ttl
	now = now.Add(time.Second)
	step("https://app.example.com", false, 3)
	origins, fail = []string{"https://app.example.com"}, nil
	now = now.Add(time.Second)
	step("https://app.example.com", true, 4)
	origins, fail = nil, errors.New("store down")
	now = now.Add(6 * time.Second)
	step("https://app.example.com", true, 5) // the previous set is kept
}
