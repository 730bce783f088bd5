package service

import (
	"strings"
	"testing"
)

// ValidateDatabaseURL accepts what the sandbox can open (the same parser,
// package dburl), an unencoded '@' in a password included, and refuses the
// rest without ever echoing the password.
func TestValidateDatabaseURL(t *testing.T) {
	for _, ok := range []string{
		"",
		"sqlite:/var/lib/legacy.db",
		"mysql://app:pw@db:3306/legacy",
		"mysql://app:p@ss@db/legacy", // unencoded '@'
		"mysql://app:p%40ss@db/legacy?tls=true&timeout=3s",
	} {
		if err := ValidateDatabaseURL(ok); err != nil {
			t.Errorf("ValidateDatabaseURL(%q) = %v", ok, err)
		}
	}
	const secret = "Hunter2@x"
	for _, bad := range []string{
		"postgres://u:" + secret + "@h/db",
		"mysql://u:" + secret + "@h",
		"mysql://u:" + secret + "@h/a/b",
		"mysql://u:" + secret + "@h/db?foo=1",
		"mysql://u:" + secret + "@:3306/db",
		"sqlite:",
		"sqlite:x.db?mode=rwc",
		"/bare/path.db",
	} {
		err := ValidateDatabaseURL(bad)
		if err == nil {
			t.Errorf("ValidateDatabaseURL(%q) accepted", bad)
			continue
		}
		if !isCode(err, CodeBadUserInput) || strings.Contains(err.Error(), "Hunter2") {
			t.Errorf("ValidateDatabaseURL(%q) = %v", bad, err)
		}
	}
}
