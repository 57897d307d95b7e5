package console_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/latchauth/latch/internal/browsertest"
	"github.com/latchauth/latch/internal/store/storetest"
)

// chrome is a headless browser tab driven by a test.
type chrome struct {
	t   *testing.T
	ctx context.Context
	// shots, when set, is the directory screenshots are written to.
	shots string
}

// screenshotsEnv names the directory for screenshots of the console's
// pages ("1": docs/console of this repository); unset, none are taken.
const screenshotsEnv = "LATCH_CONSOLE_SCREENSHOTS"

func newChrome(t *testing.T) *chrome {
	t.Helper()
	ctx := browsertest.Start(t, "the console's browser tests need a real browser", 3*time.Minute,
		chromedp.Flag("hide-scrollbars", true), chromedp.WindowSize(1280, 900))
	c := &chrome{t: t, ctx: ctx}
	switch dir := os.Getenv(screenshotsEnv); dir {
	case "":
	case "1":
		c.shots = filepath.Join("..", "..", "docs", "console")
	default:
		c.shots = dir
	}
	return c
}

func (c *chrome) do(steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		c.t.Fatalf("browser: %v", err)
	}
}

func run[T any](c *chrome, a chromedp.Action[T]) T {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, a)
	if err != nil {
		c.t.Fatalf("browser: %v", err)
	}
	return v
}

// submit clicks sel, a submit button, and waits for the page it leads to.
func (c *chrome) submit(sel string) {
	c.t.Helper()
	loaded := chromedp.Events(c.ctx, page.LoadEventFired)
	c.do(chromedp.Click(chromedp.CSS(sel)))
	for _, err := range loaded {
		if err != nil {
			c.t.Fatalf("browser: waiting for the page after %s: %v", sel, err)
		}
		break
	}
}

// text is the visible text of the page's main element.
func (c *chrome) text() string {
	c.t.Helper()
	return run(c, chromedp.Text(chromedp.CSS("main")))
}

func (c *chrome) location() string {
	c.t.Helper()
	return run(c, chromedp.Location())
}

// until reloads the page until its main text holds want (30 s at most).
func (c *chrome) until(want string) string {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		txt := c.text()
		if strings.Contains(txt, want) {
			return txt
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("waited 30 s for %q on %s; the page says:\n%s", want, c.location(), txt)
		}
		time.Sleep(100 * time.Millisecond)
		c.do(chromedp.Reload())
	}
}

// screenshot writes the page as name.png when screenshots are wanted.
func (c *chrome) screenshot(name string) {
	c.t.Helper()
	if c.shots == "" {
		return
	}
	png := run(c, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(c.shots, 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.shots, name+".png"), png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// pageChecks holds on every console page: no sideways scrolling of the
// page itself at the current width (wide tables scroll in their own box),
// and a label for every form control.
const pageChecks = `(() => {
	const unlabelled = [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
		.filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id);
	return {overflow: document.documentElement.scrollWidth - window.innerWidth, unlabelled: unlabelled};
})()`

func (c *chrome) checkPage(what string) {
	c.t.Helper()
	res := run(c, chromedp.EvaluateAsDevTools[map[string]any](pageChecks))
	if ov, _ := res["overflow"].(float64); ov > 1 {
		c.t.Errorf("%s: the page scrolls sideways by %v px at this width", what, ov)
	}
	if u, _ := res["unlabelled"].([]any); len(u) > 0 {
		c.t.Errorf("%s: form controls without a label: %v", what, u)
	}
}

// hookReceiver is a webhook endpoint on 127.0.0.1 that records the
// webhook-id of every POST.
type hookReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	ids []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.ids = append(r.ids, req.Header.Get("webhook-id"))
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ids...)
}

// waitFor polls cond for 30 s at most.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var pathID = regexp.MustCompile(`/(tenants|users|webhooks)/([0-9a-f-]{36})`)

// lastID is the id after the last of what in the page's location.
func (c *chrome) lastID(what string) string {
	c.t.Helper()
	var id string
	for _, m := range pathID.FindAllStringSubmatch(c.location(), -1) {
		if m[1] == what {
			id = m[2]
		}
	}
	if id == "" {
		c.t.Fatalf("no %s id in %s", what, c.location())
	}
	return id
}

// Ensure an operator can do the console's work in a real browser, with
// JavaScript off: sign in with the keyboard, create a tenant, a webhook
// endpoint (its secret shown once) and a user; see the user's
// accounts-v3 login in their events and their session; revoke the
// session (its refresh token then fails); see the login's webhook
// delivery and redeliver it (the receiver gets it again, with the same
// webhook-id, and the attempt is logged); find the console's actions in
// the audit log. Every page is checked for labels and for sideways
// scrolling on a phone-sized screen.
func TestConsoleInBrowser(t *testing.T) {
	c := newChrome(t)
	e := start(t, options{adminToken: adminToken, hooks: true, trusted: loopback})
	recv := newHookReceiver(t)
	c.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	}))

	// Sign in with the keyboard: the token field has the focus.
	c.do(chromedp.Navigate(e.URL + "/console/"))
	c.checkPage("sign-in")
	c.screenshot("signin")
	loaded := chromedp.Events(c.ctx, page.LoadEventFired)
	c.do(chromedp.KeyEvent(adminToken + "\r"))
	for _, err := range loaded {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if txt := c.text(); !strings.Contains(txt, "Overview") || !strings.Contains(txt, "No tenants yet") {
		t.Fatalf("after signing in: %s", txt)
	}

	// A tenant.
	c.do(chromedp.Navigate(e.URL+"/console/tenants"), chromedp.SendKeys(chromedp.CSS("#t-name"), "Acme"), chromedp.SendKeys(chromedp.CSS("#t-alias"), "acme"))
	c.submit("form[action='/console/tenants'] button")
	if txt := c.text(); !strings.Contains(txt, "Tenant created.") {
		t.Fatalf("after creating the tenant: %s", txt)
	}
	tid := c.lastID("tenants")
	base := e.URL + "/console/tenants/" + tid

	// A webhook endpoint on a receiver at 127.0.0.1, for logins (the
	// form's default).
	c.do(chromedp.Navigate(base+"/webhooks"), chromedp.SendKeys(chromedp.CSS("#w-url"), recv.URL+"/hooks"))
	c.submit("form[action$='/webhooks'] button")
	secret := run(c, chromedp.Text(chromedp.CSS("#new-secret")))
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the new endpoint's secret: %q", secret)
	}
	c.checkPage("webhooks")
	c.do(chromedp.Click(chromedp.CSS(".once a")))
	c.do(chromedp.WaitVisible(chromedp.CSS("h2.url")))
	wid := c.lastID("webhooks")
	if c.do(chromedp.Reload()); strings.Contains(c.text(), secret) {
		t.Fatal("the secret is shown again")
	}

	// A user.
	c.do(chromedp.Navigate(base+"/users"), chromedp.SendKeys(chromedp.CSS("#u-email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#u-password"), "correct horse battery"), chromedp.SendKeys(chromedp.CSS("#u-first"), "Ada"),
		chromedp.SendKeys(chromedp.CSS("#u-last"), "Lovelace"))
	c.submit("form[method=post][action$='/users'] button")
	if txt := c.text(); !strings.Contains(txt, "User created.") || !strings.Contains(txt, "ada@example.com") {
		t.Fatalf("after creating the user: %s", txt)
	}
	uid := c.lastID("users")

	// The user logs in through accounts-v3; the console shows it.
	refresh := e.login(t, tid, "ada@example.com")
	txt := c.until("account.logged-in")
	if !strings.Contains(txt, "1 live") || !strings.Contains(txt, "127.0.0.1") || !strings.Contains(txt, "accounts-v3") {
		t.Fatalf("the user's page after the login: %s", txt)
	}
	c.checkPage("user")

	// Revoke the session.
	c.submit("form[action$='/sessions/revoke'] button.small")
	if txt := c.text(); !strings.Contains(txt, "Session revoked.") || !strings.Contains(txt, "0 live") || !strings.Contains(txt, "revoked by admin") {
		t.Fatalf("after revoking: %s", txt)
	}
	res, err := http.Post(e.URL+"/v3/accounts/login-refresh-token", "application/json", strings.NewReader(`{"refreshToken":"`+refresh+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode < 400 || res.StatusCode >= 500 {
		t.Fatalf("the revoked session's refresh token: %d", res.StatusCode)
	}
	c.screenshot("user")

	// The login's delivery, and a redelivery.
	waitFor(t, "the login's webhook", func() bool { return len(recv.got()) == 1 })
	c.do(chromedp.Navigate(base + "/webhooks/" + wid))
	c.until("delivered")
	c.submit(".delivery form button")
	if txt := c.text(); !strings.Contains(txt, "Delivery queued") {
		t.Fatalf("after redelivering: %s", txt)
	}
	waitFor(t, "the redelivery", func() bool { return len(recv.got()) == 2 })
	if ids := recv.got(); ids[0] != ids[1] || ids[0] == "" {
		t.Fatalf("the redelivery's webhook-id %q differs from the delivery's %q", ids[1], ids[0])
	}
	// The first success was written down (the first of the sample), so
	// the redelivery is the delivery's second logged attempt.
	txt = c.until("2 attempts")
	if badge := run(c, chromedp.Text(chromedp.CSS(".delivery .badge"))); badge != "delivered" || strings.Count(txt, "HTTP 204") != 2 || !strings.Contains(txt, " ms") {
		t.Fatalf("the delivery log after the redelivery (%s): %s", badge, txt)
	}
	c.checkPage("webhook")
	c.screenshot("webhook")

	// The audit log shows the console's actions, and links the login to
	// the user.
	c.do(chromedp.Navigate(base + "/events?type=admin.session.revoked"))
	if txt := c.text(); !strings.Contains(txt, "admin.session.revoked") || !strings.Contains(txt, "via=console") {
		t.Fatalf("the audit log: %s", txt)
	}
	c.do(chromedp.Navigate(base + "/events"))
	href := run(c, chromedp.EvaluateAsDevTools[string](`[...document.querySelectorAll("table.events tbody tr")]
		.filter(tr => tr.cells[1].textContent.trim() === "account.logged-in").map(tr => tr.cells[2].querySelector("a").getAttribute("href")).join(" ")`))
	if href != "/console/tenants/"+tid+"/users/"+uid {
		t.Fatalf("the login's user link: %q", href)
	}
	c.checkPage("events")
	c.screenshot("events")

	// Some traffic for the overview: a minute of logins, failures and
	// throttled attempts each sampled minute.
	traffic(t, e, tid, 12)
	c.do(chromedp.Navigate(e.URL + "/console/"))
	if txt := c.text(); !strings.Contains(txt, "Last hour on this instance") || !strings.Contains(txt, "Logins") {
		t.Fatalf("the overview: %s", txt)
	}
	c.checkPage("overview")
	c.screenshot("overview")
	// The keyboard's first stop is the link past the navigation.
	c.do(chromedp.KeyEvent("\t"))
	if got := run(c, chromedp.EvaluateAsDevTools[string](`document.activeElement.className + " " + document.activeElement.getAttribute("href")`)); got != "skip #main" {
		t.Errorf("the first Tab focuses %q, want the skip link", got)
	}
	c.do(chromedp.Navigate(base + "/users"))
	c.screenshot("users")
	c.do(chromedp.Navigate(base))
	c.checkPage("tenant")
	c.screenshot("tenant")

	// A phone-sized screen.
	c.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, p := range []string{"/console/", "/console/tenants", "/console/tenants/" + tid, "/console/tenants/" + tid + "/users",
		"/console/tenants/" + tid + "/users/" + uid, "/console/tenants/" + tid + "/api-keys", "/console/tenants/" + tid + "/webhooks",
		"/console/tenants/" + tid + "/webhooks/" + wid, "/console/tenants/" + tid + "/events"} {
		c.do(chromedp.Navigate(e.URL + p))
		c.checkPage("phone " + p)
	}
	c.do(chromedp.Navigate(base + "/users/" + uid))
	c.screenshot("phone-user")
}

// traffic logs users of the tenant in, right and wrong, over minutes
// sampled for the overview's chart: the clock moves a minute after each.
func traffic(t *testing.T, e *env, tid string, minutes int) {
	t.Helper()
	for i := range 3 {
		e.mustUser(t, tid, fmt.Sprintf("user%d@example.com", i))
	}
	start := e.Now().Add(-time.Duration(minutes) * time.Minute)
	for m := range minutes {
		e.Samples.Sample(start.Add(time.Duration(m) * time.Minute))
		for i := range 1 + (m*7)%5 {
			e.login(t, tid, fmt.Sprintf("user%d@example.com", i%3))
		}
		for i := range (m * 3) % 4 {
			body := fmt.Sprintf(`{"accountId":%q,"email":"user%d@example.com","password":"wrong password"}`, tid, i)
			req, _ := http.NewRequest("POST", e.URL+"/v3/accounts/login", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", m%2)) // the same two addresses: some are throttled
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
		}
	}
	e.Samples.Sample(e.Now())
}

// Ensure the console's one script runs under its policy (no inline
// script is needed): a destructive action asks first, and nothing
// happens when the operator says no.
func TestConsoleScriptUnderCSP(t *testing.T) {
	c := newChrome(t)
	e := start(t, options{adminToken: adminToken})
	tn := e.mustTenant(t, "acme")
	u := e.mustUser(t, tn.ID, "ada@example.com")
	e.login(t, tn.ID, "ada@example.com")
	live := func() int { return storetest.LiveSessions(t, e.Store, u) }
	answers := make(chan bool, 2)
	asked := make(chan string, 2)
	dialogs := chromedp.Events(c.ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			asked <- ev.Message
			if _, err := chromedp.Call(c.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: <-answers}); err != nil {
				return
			}
		}
	}()
	c.do(chromedp.Navigate(e.URL+"/console/"), chromedp.SendKeys(chromedp.CSS("#token"), adminToken))
	c.submit("form button")
	c.do(chromedp.Navigate(e.URL + "/console/tenants/" + tn.ID + "/users/" + u.ID))

	question := func() string {
		select {
		case msg := <-asked:
			return msg
		case <-time.After(30 * time.Second):
			t.Fatal("no question within 30 s: the script did not run")
			return ""
		}
	}
	answers <- false
	c.do(chromedp.Click(chromedp.CSS("button[data-confirm^='Revoke every session']")))
	if msg := question(); msg != "Revoke every session of ada@example.com?" {
		t.Fatalf("asked %q", msg)
	}
	if n := live(); n != 1 {
		t.Fatalf("after saying no: %d live sessions", n)
	}
	answers <- true
	c.submit("button[data-confirm^='Revoke every session']")
	question()
	if txt := c.text(); !strings.Contains(txt, "All sessions revoked.") || live() != 0 {
		t.Fatalf("after saying yes: %d live: %s", live(), txt)
	}
}
