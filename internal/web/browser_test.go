package web_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/calibd/calibd/internal/testenv"
)

// chrome is a headless Debian chromium driven by chromedp, one per test.
// A failing test leaves a screenshot of the page it was on in its
// artifact directory (go test -artifacts keeps it; make test does).
type chrome struct {
	t    *testing.T
	ctx  context.Context
	base string
	name string // who drives it, for screenshot names
}

// chromiumPath finds the browser: CHROMIUM if set, else chromium on
// PATH. Without one the test skips, or fails under CI=true (.ci/run
// installs Debian's chromium package).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if testenv.InCI() {
		t.Fatal("CI=true and no chromium to drive: apt-get install chromium")
	}
	t.Skip("chromium is not installed (apt-get install chromium); skipping the browser tests")
	return ""
}

func newChrome(t *testing.T, base, name string) *chrome {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	c := &chrome{t: t, ctx: ctx, base: base, name: name}
	t.Cleanup(func() {
		if t.Failed() {
			c.screenshot("failure")
		}
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return c
}

// screenshot saves the page as name.png in the test's artifact directory.
func (c *chrome) screenshot(name string) {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Logf("screenshot: %v", err)
		return
	}
	path := filepath.Join(c.t.ArtifactDir(), c.name+"-"+name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		c.t.Logf("screenshot: %v", err)
		return
	}
	c.t.Logf("screenshot: %s", path)
}

// run performs actions with a deadline, failing the test with what was
// being done.
func (c *chrome) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		c.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates to a path of the site.
func (c *chrome) open(path string) {
	c.t.Helper()
	c.run("open "+path, chromedp.Navigate(c.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// text is the visible text of the first element matching sel.
func (c *chrome) text(sel string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		c.t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// wantText waits until the element's text contains want.
func (c *chrome) wantText(sel, want string) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(c.ctx, 2*time.Second)
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if err == nil && strings.Contains(s, want) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s does not show %q; it shows %q (%v)", sel, want, s, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signIn signs in through the page with a token.
func (c *chrome) signIn(token string) {
	c.t.Helper()
	c.open("/signin")
	c.run("sign in",
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("nav[aria-label=Main]")))
}

// eval evaluates a JavaScript expression and returns its value.
func eval[T any](c *chrome, expr string) T {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		c.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript predicate until it is true.
func (c *chrome) waitFor(what, expr string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr)); err != nil {
		c.t.Fatalf("waiting for %s (%s): %v", what, expr, err)
	}
}

// fill sets the inputs by CSS selector, typing into text inputs so the
// page sees real key events.
func (c *chrome) fill(fields map[string]string) {
	c.t.Helper()
	for sel, v := range fields {
		q, _ := json.Marshal(sel)
		c.run("fill "+sel, chromedp.Evaluate[chromedp.Void](`document.querySelector(`+string(q)+`).value = ""`),
			chromedp.SendKeys(chromedp.CSS(sel), v))
	}
}

// keep saves a screenshot of a passing step when CALIBD_SCREENSHOTS is
// set, to look at the pages (go test -artifacts keeps them).
func (c *chrome) keep(name string) {
	if os.Getenv("CALIBD_SCREENSHOTS") != "" {
		c.screenshot(name)
	}
}

// usable checks what the issue asks of every page: each visible form
// field has a label, and at 375 px wide nothing makes the page scroll
// sideways (tables scroll inside their own box).
func (c *chrome) usable(path string) {
	c.t.Helper()
	c.run("narrow the window to 375 px", chromedp.EmulateViewport(375, 800))
	defer c.run("widen the window", chromedp.EmulateViewport(1280, 900))
	c.open(path)
	unlabelled := eval[[]string](c, `[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
		.filter(e => !(e.labels && e.labels.length) && !e.getAttribute("aria-label")).map(e => e.name || e.id || e.outerHTML)`)
	if len(unlabelled) > 0 {
		c.t.Errorf("%s: fields without a label: %v", path, unlabelled)
	}
	if w := eval[int](c, `document.documentElement.scrollWidth`); w > 375 {
		c.screenshot("narrow" + strings.ReplaceAll(path, "/", "_"))
		c.t.Errorf("%s is %d px wide at 375 px", path, w)
	}
}
