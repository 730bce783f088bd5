package reliability

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/profiled/profiled/internal/testenv"
)

// fragmentBomb is `query { ...F0 }` with F0..F(n-1) each spreading the
// next twice and the last selecting __typename: 2^n spreads once
// expanded, in n*40 bytes.
func fragmentBomb(n int) string {
	var b strings.Builder
	b.WriteString("query { ...F0 }")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, " fragment F%d on Query { ...F%d ...F%d }", i, i+1, i+1)
	}
	fmt.Fprintf(&b, " fragment F%d on Query { __typename }", n)
	return b.String()
}

// TestFragmentBombRefusedQuickly: fragments spreading each other twice
// (2^20 and 2^30 spreads, under 1.3 KB, no token) are refused with
// BAD_USER_INPUT before validation expands them; so is the same bomb
// behind a variable-free mutation. A document under the limit still
// runs. (The request carries a deadline only so that the old, exponential
// behaviour fails this test instead of hanging it.)
func TestFragmentBombRefusedQuickly(t *testing.T) {
	e := newEnv(t, envConfig{})
	for _, n := range []int{20, 30} {
		q := fragmentBomb(n)
		start := time.Now()
		r, err := e.postLimited("", q)
		if err != nil {
			t.Fatalf("2^%d spreads (%d bytes): %v", n, len(q), err)
		}
		t.Logf("2^%d spreads, %d bytes: %s in %v", n, len(q), r.code(), time.Since(start))
		if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "selections through its fragments") {
			t.Fatalf("2^%d spreads: %s", n, r.Raw)
		}
	}
	// 2^10 expanded selections: under the default limit, answered.
	r, err := e.postLimited("", fragmentBomb(10))
	if err != nil || len(r.Errors) != 0 || !strings.Contains(string(r.Data), "__typename") {
		t.Fatalf("2^10 spreads: %v %s", err, r.Raw)
	}
}

// postLimited posts a GraphQL query through a client that gives up after
// a minute.
func (e *env) postLimited(token, query string) (gqlResponse, error) {
	body, err := json.Marshal(map[string]string{"query": query})
	if err != nil {
		return gqlResponse{}, err
	}
	c := testenv.Client{URL: e.srv.URL + "/graphql", HTTP: &http.Client{Timeout: time.Minute}}
	r, err := c.Post(token, "application/json", body)
	return gqlResponse(r), err
}
