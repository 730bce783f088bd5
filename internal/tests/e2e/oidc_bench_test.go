package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/profiled/profiled/client"
	"github.com/profiled/profiled/internal/service"
)

// BenchmarkOIDC measures the OpenID Provider against the login mutation
// (GraphQL, same user, same bcrypt cost 4, same store) in the same run:
//
//   - refresh: one refresh_token exchange (rotation: check, retire, insert,
//     sign an access and an ID token) through x/oauth2;
//   - code: a whole authorization-code round trip with PKCE as a browser
//     and an RP do it: GET /authorize, GET the sign-in page, POST the
//     password, GET the callback, POST the code to /oauth/token.
//
// x_baseline is the candidate's throughput over the login mutation's.
func BenchmarkOIDC(b *testing.B) {
	for _, k := range []storeKind{sqliteStore, mysqlStore} {
		b.Run(string(k), func(b *testing.B) {
			e := newBenchEnv(b, k)
			ctx := context.Background()
			createDBConnectionB(b, e)
			anon := e.client("")
			su, err := client.Signup(ctx, anon, "main", "bench@example.com", "correct horse battery", nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			app, secret, err := e.svc.CreateApplication(ctx, service.Operator(), service.ApplicationSpec{Name: ptr("bench"), Type: service.AppRegularWeb,
				SetRedirectURIs: true, RedirectURIs: []string{rpRedirect}})
			if err != nil {
				b.Fatal(err)
			}
			conf := oauth2.Config{ClientID: app.ID, ClientSecret: secret, RedirectURL: rpRedirect, Scopes: []string{"openid", "email", "offline_access"},
				Endpoint: oauth2.Endpoint{AuthURL: e.issuer + "/authorize", TokenURL: e.issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}}
			login := func() error {
				_, err := client.Login(ctx, anon, "main", "bench@example.com", "correct horse battery")
				return err
			}
			const workers = 4
			b.Run("refresh", func(b *testing.B) {
				u, err := e.svc.UserByIDForToken(ctx, su.Signup.Id)
				if err != nil {
					b.Fatal(err)
				}
				pool := make(chan string, 2*workers)
				for i := 0; i < cap(pool); i++ {
					tok, _, err := e.svc.IssueRefreshToken(ctx, service.NewDevice{App: app, User: u, Scopes: conf.Scopes, Audience: []string{"profiled", app.ID}})
					if err != nil {
						b.Fatal(err)
					}
					pool <- tok
				}
				ratioBench(b, workers, login, func() error {
					rt := <-pool
					t, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
					if err != nil {
						pool <- rt
						return err
					}
					pool <- t.RefreshToken
					return nil
				})
			})
			b.Run("code", func(b *testing.B) {
				ratioBench(b, workers, login, func() error { return codeRoundTrip(ctx, e, conf) })
			})
		})
	}
}

func codeRoundTrip(ctx context.Context, e *env, conf oauth2.Config) error {
	hc := &http.Client{Jar: nil, CheckRedirect: func(req *http.Request, via []*http.Request) error { return http.ErrUseLastResponse }}
	v := oauth2.GenerateVerifier()
	res, err := hc.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
	if err != nil {
		return err
	}
	res.Body.Close()
	loc, err := res.Location()
	if err != nil {
		return fmt.Errorf("authorize: %d", res.StatusCode)
	}
	res, err = hc.Get(loc.String())
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	ar, csrf := reAuthReq.FindStringSubmatch(string(body)), reCSRF.FindStringSubmatch(string(body))
	if ar == nil || csrf == nil {
		return fmt.Errorf("no sign-in form (%d)", res.StatusCode)
	}
	form := url.Values{"authRequestID": {ar[1]}, "csrf": {csrf[1]}, "connection": {"main"}, "email": {"bench@example.com"}, "password": {"correct horse battery"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.issuer+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range res.Cookies() {
		req.AddCookie(c)
	}
	res, err = hc.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	loc, err = res.Location()
	if err != nil {
		return fmt.Errorf("login: %d", res.StatusCode)
	}
	res, err = hc.Get(loc.String())
	if err != nil {
		return err
	}
	res.Body.Close()
	loc, err = res.Location()
	if err != nil || loc.Query().Get("code") == "" {
		return fmt.Errorf("callback: %d %v", res.StatusCode, loc)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(v))
	return err
}
