// Package browsertest runs headless Chromium for the tests that need a
// real browser (CORS as browsers enforce it, the operator console),
// driven over the DevTools protocol with chromedp. Only tests import it.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// find returns the path of a Chromium (or Chrome) binary, or "".
func find() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Start starts a headless Chromium for tb and returns the context of its
// tab, which ends after timeout or with tb. Without a Chromium, tb is
// skipped saying need (what needs a real browser), except in CI (CI set),
// where it fails: .ci/run installs the chromium package. opts are added
// to the browser's options.
func Start(tb testing.TB, need string, timeout time.Duration, opts ...chromedp.ExecAllocatorOption) context.Context {
	tb.Helper()
	path := find()
	if path == "" {
		if os.Getenv("CI") != "" {
			tb.Fatal("Chromium is required in CI (.ci/run installs the chromium package)")
		}
		tb.Skip("no Chromium found (install the Debian package chromium): " + need)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	tb.Cleanup(cancel)
	all := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.UserDataDir(tb.TempDir()),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(all, opts...)...)
	tb.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	tb.Cleanup(cancelBrowser)
	return bctx
}
