package sandbox

import (
	"testing"

	"github.com/profiled/profiled/abi"
	"github.com/profiled/profiled/internal/passwords"
)

// The host functions' published limits are the passwords package's table
// of cost bounds: a script can neither make nor be made to verify a hash
// the service itself would refuse.
func TestABIBoundsAreThePasswordTable(t *testing.T) {
	for _, c := range []struct {
		name      string
		abi, want uint64
	}{
		{"MinBcryptCost", abi.MinBcryptCost, passwords.BoundOf("bcrypt", "cost").Min},
		{"MaxBcryptCost", abi.MaxBcryptCost, passwords.BoundOf("bcrypt", "cost").Max},
		{"MaxArgon2MemoryKiB", abi.MaxArgon2MemoryKiB, passwords.BoundOf("argon2", "m").Max},
		{"MaxArgon2Time", abi.MaxArgon2Time, passwords.BoundOf("argon2", "t").Max},
		{"MaxArgon2Threads", abi.MaxArgon2Threads, passwords.BoundOf("argon2", "p").Max},
	} {
		if c.abi != c.want {
			t.Errorf("abi.%s = %d, the table says %d", c.name, c.abi, c.want)
		}
	}
}
