package policy

import (
	"errors"
	"strings"
	"testing"
)

// TestNormalizeUsername: Auth0's default rules for a database connection's
// usernames (1 to 15 characters; a-z, 0-9 and _ . - + ! # $ ^ ~ ' @ `; not
// an email), lower-cased.
func TestNormalizeUsername(t *testing.T) {
	for in, want := range map[string]string{
		"ann": "ann", "Ann_Lee": "ann_lee", "a": "a", "x.y-z+w!#$^~'`": "x.y-z+w!#$^~'`",
		"fifteen-chars-x": "fifteen-chars-x", "ann@home": "ann@home", "007": "007",
	} {
		got, err := NormalizeUsername(in)
		if err != nil || got != want {
			t.Errorf("NormalizeUsername(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "sixteen-chars-xx", "ann lee", "änn", "ann\x00", "a/b", "a:b", "ann@example.com", "a\"b", "a,b"} {
		_, err := NormalizeUsername(in)
		var r *Refusal
		if !errors.As(err, &r) || r.Reason != ReasonBadInput || r.Field != FieldUsername {
			t.Errorf("NormalizeUsername(%q): %v, want a bad-input refusal on username", in, err)
		} else if in != "" && strings.Contains(r.Message, in) {
			t.Errorf("NormalizeUsername(%q): the message repeats the username: %s", in, r.Message)
		}
	}
}

// TestCheckLoginUsername: what a custom database's script may receive.
func TestCheckLoginUsername(t *testing.T) {
	for _, ok := range []string{"ann", "Ann Lee", "ann@example.com", "Ånn", strings.Repeat("a", 128)} {
		if err := CheckLoginUsername(ok); err != nil {
			t.Errorf("CheckLoginUsername(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("a", 129), "ann\n", "a\x7fb", "\xff"} {
		if err := CheckLoginUsername(bad); err == nil {
			t.Errorf("CheckLoginUsername(%q) accepted", bad)
		}
	}
}
