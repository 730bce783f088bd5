package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// seedKratos creates n identities in an Ory Kratos (≥ 1.1) through its
// admin API's batch PATCH /admin/identities, in the shape of the seeded
// Profiled users (seed.go): traits email, name and nickname (the
// identity schema of scripts/kratos-compare.sh), metadata_public like
// user_metadata, metadata_admin like app_metadata, and the same imported
// bcrypt hash. Identities that exist already are skipped (Kratos answers
// 409 for them); the caller remembers that a database is seeded
// (scripts/kratos-compare.sh keeps a marker file): Kratos has no cheap
// count, and its lookup by identifier takes minutes at 100k on SQLite.
func seedKratos(ctx context.Context, admin string, n, cost int) error {
	admin = strings.TrimRight(admin, "/")
	hc := &http.Client{Timeout: 10 * time.Minute}
	hash, err := bcrypt.GenerateFromPassword([]byte(seedPassword), cost)
	if err != nil {
		return err
	}
	const batch = 1000 // Kratos takes at most 2000 per request
	start, created, existed := time.Now(), 0, 0
	for from := 0; from < n; from += batch {
		var body struct {
			Identities []map[string]any `json:"identities"`
		}
		for i := from; i < min(from+batch, n); i++ {
			plan := "free"
			if i%4 == 0 {
				plan = "pro"
			}
			body.Identities = append(body.Identities, map[string]any{"create": map[string]any{
				"schema_id":       "default",
				"state":           "active",
				"traits":          map[string]any{"email": seedEmail(i, seedDomain), "name": fmt.Sprintf("Load User %d", i), "nickname": fmt.Sprintf("user%d", i)},
				"metadata_public": map[string]any{"lang": langs[i%len(langs)], "n": i},
				"metadata_admin":  map[string]any{"plan": plan},
				"credentials":     map[string]any{"password": map[string]any{"config": map[string]any{"hashed_password": string(hash)}}},
			}})
		}
		var res struct {
			Identities []struct {
				Action string `json:"action"`
				Error  *struct {
					Code   int    `json:"code"`
					Reason string `json:"reason"`
				} `json:"error"`
			} `json:"identities"`
		}
		b, _ := json.Marshal(body)
		if err := kratosCall(ctx, hc, http.MethodPatch, admin+"/admin/identities", b, &res); err != nil {
			return fmt.Errorf("identities %d..%d: %w", from, from+len(body.Identities), err)
		}
		for _, r := range res.Identities {
			switch {
			case r.Error == nil:
				created++
			case r.Error.Code == http.StatusConflict:
				existed++
			default:
				return fmt.Errorf("identities %d..: %s: %d %s", from, r.Action, r.Error.Code, r.Error.Reason)
			}
		}
		if (from/batch)%20 == 19 {
			fmt.Fprintf(os.Stderr, "  kratos: %d identities\n", from+batch)
		}
	}
	fmt.Fprintf(os.Stderr, "kratos: %d identities created, %d existed, in %v\n", created, existed, time.Since(start).Round(time.Millisecond))
	return nil
}

func kratosCall(ctx context.Context, hc *http.Client, method, u string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d: %.300s", method, u, res.StatusCode, b)
	}
	return json.Unmarshal(b, out)
}
