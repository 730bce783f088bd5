// The hostile corpus: login(email, password) misbehaves in the way the email
// names. Each behaviour has its own test in sandbox/hostile_test.go.
package main

import (
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/profiled/profiled/sdk"
)

var sink []byte

//go:noinline
func recurse(n int) int {
	var pad [64]byte
	pad[n%64] = byte(n)
	return recurse(n+1) + int(pad[0])
}

// tree calls itself twice per level: 2^depth calls and no loop anywhere.
//
//go:noinline
func tree(depth int) int {
	if depth == 0 {
		return 1
	}
	return tree(depth-1) + tree(depth-1)
}

//go:wasmexport login
func login() int32 {
	return sdk.Login(func(email, password string) (*sdk.Profile, error) {
		switch email {
		case "ok":
			return &sdk.Profile{UserID: "1", Email: "ok@example.com"}, nil
		case "loop":
			for {
			}
		case "bomb":
			for {
				sink = append(sink, make([]byte, 1<<20)...)
			}
		case "recursion":
			return &sdk.Profile{UserID: strconv.Itoa(recurse(0))}, nil
		case "panic":
			var m map[string]int
			m["x"] = 1 // nil map write: a runtime panic
		case "exit":
			os.Exit(3)
		case "file":
			b, err := os.ReadFile("/etc/passwd")
			if err != nil {
				return nil, err
			}
			return &sdk.Profile{UserID: "leak", Name: string(b)}, nil
		case "write":
			err := os.WriteFile("/tmp/profiled-hostile", []byte("x"), 0o644)
			if err != nil {
				return nil, err
			}
			return &sdk.Profile{UserID: "wrote"}, nil
		case "socket":
			c, err := net.Dial("tcp", "127.0.0.1:3306")
			if err != nil {
				return nil, err
			}
			c.Close()
			return &sdk.Profile{UserID: "connected"}, nil
		case "huge":
			return &sdk.Profile{UserID: "1", Name: strings.Repeat("x", 4<<20)}, nil
		case "noid":
			return &sdk.Profile{Email: "noid@example.com"}, nil
		case "tree":
			return &sdk.Profile{UserID: strconv.Itoa(tree(62))}, nil
		case "sleepquery":
			var n int
			err := sdk.QueryRow("SELECT SLEEP(30)").Scan(&n)
			return nil, err
		case "manyqueries":
			for i := 0; i < 1000; i++ {
				var n int
				if err := sdk.QueryRow("SELECT 1").Scan(&n); err != nil {
					return nil, err
				}
			}
			return &sdk.Profile{UserID: "1"}, nil
		case "swallow":
			// ignore every error and still claim success
			for i := 0; i < 100; i++ {
				sdk.QueryRow("SELECT 1")
			}
			return &sdk.Profile{UserID: "1"}, nil
		case "manyrows":
			rows, err := sdk.Query("SELECT seq FROM seq_1_to_5000")
			if err != nil {
				return nil, err
			}
			return &sdk.Profile{UserID: strconv.Itoa(rows.Len())}, nil
		case "multistatement":
			_, err := sdk.Exec("SELECT 1; DROP TABLE users")
			return nil, err
		case "bcryptcost":
			_, err := sdk.BcryptCompare("$2a$31$"+strings.Repeat("a", 53), password)
			return nil, err
		case "argon2mem":
			_, err := sdk.Argon2idCompare("$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", password)
			return nil, err
		case "logflood":
			for i := 0; i < 10000; i++ {
				sdk.Log("line " + strconv.Itoa(i) + " " + strings.Repeat("y", 100))
			}
			return &sdk.Profile{UserID: "1"}, nil
		case "global":
			counter++
			return &sdk.Profile{UserID: strconv.Itoa(counter)}, nil
		}
		return nil, sdk.ErrWrongCredentials
	})
}

var counter int

func main() {}
