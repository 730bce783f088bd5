package frontend

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/profiled/profiled/internal/testenv"
)

// browser starts a headless Chromium for one test (testenv.Browser),
// bounded at 4 minutes; offline, only loopback addresses answer.
func browser(t *testing.T, offline bool) context.Context {
	return testenv.Browser(t, 4*time.Minute, offline)
}

// get runs one browser action that returns a value; a step that cannot
// finish fails after a bound, with the page's text to say why.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
		defer dcancel()
		page, _ := chromedp.Run(dctx, chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
		t.Fatalf("%v; the page:\n%s", err, page)
	}
	return v
}

func run(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	get(t, ctx, chromedp.Steps(steps...))
}

// screenshot saves the page as artifacts/NAME.png at the repository root
// (git-ignored).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png := get(t, ctx, chromedp.FullScreenshot(100))
	dir := filepath.Join("..", "..", "..", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
