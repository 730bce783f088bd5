package reliability

import (
	"context"
	"sync"
	"testing"

	"github.com/profiled/profiled/client"
)

// parallelBurst sends n wrong passwords at once for one account from one
// IP and returns the codes they got and the failures the store counted.
func parallelBurst(t *testing.T, e *env, n int) (map[string]int, int) {
	t.Helper()
	ctx := context.Background()
	createDBConnection(t, e, "main")
	_, err := client.CreateUser(ctx, e.adminClient(), client.CreateUserInput{Connection: "main", Email: "bf@example.com", Password: ptr("the right password")})
	mustNoErr(t, err)
	anon := e.client("")
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := client.Login(ctx, anon, "main", "bf@example.com", "a wrong password")
			mu.Lock()
			codes[code(err)]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if codes["INVALID_CREDENTIALS"]+codes["TOO_MANY_ATTEMPTS"] != n {
		t.Fatalf("codes %v", codes)
	}
	count, _, err := e.store.LoginFailures(ctx, "main|bf@example.com", "127.0.0.1")
	mustNoErr(t, err)
	t.Logf("%d parallel wrong passwords: %v; %d failures counted", n, codes, count)
	return codes, count
}

// TestParallelBruteForce: a burst of parallel wrong passwords for one
// account from one IP gets at most BruteForceThreshold (10) of them checked
// — each attempt is counted atomically before its password is — the rest
// TOO_MANY_ATTEMPTS, every attempt is counted, and afterwards the right
// password is refused too. (Found by this suite: before b910c97 all 40 of a
// burst were checked, Keycloak #31726's attack.)
func TestParallelBruteForce(t *testing.T) {
	e := newEnv(t, envConfig{bcryptCost: 6})
	codes, count := parallelBurst(t, e, 30)
	if checked := codes["INVALID_CREDENTIALS"]; checked > 10 {
		t.Errorf("%d passwords checked in one parallel burst; the threshold is 10", checked)
	}
	if count != 30 || codes["INVALID_CREDENTIALS"]+codes["TOO_MANY_ATTEMPTS"] != 30 {
		t.Errorf("30 attempts: %v, %d counted", codes, count)
	}
	_, err := client.Login(context.Background(), e.client(""), "main", "bf@example.com", "the right password")
	wantCode(t, err, "TOO_MANY_ATTEMPTS")
}
