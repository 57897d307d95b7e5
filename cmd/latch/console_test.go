package main_test

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Ensure the binary serves the console as --dev prints it: the sign-in
// form with its policy, sign-in with the printed admin token, the demo
// tenant's users; and no console at all without an admin token.
func TestConsoleBinary(t *testing.T) {
	bin := buildLatch(t)
	p := start(t, bin, t.TempDir(), []string{"LATCH_LISTEN=127.0.0.1:0", "LATCH_LOG_FORMAT=json"}, "serve", "--dev")
	var m []string
	for deadline := time.Now().Add(30 * time.Second); m == nil && time.Now().Before(deadline); {
		m = regexp.MustCompile(`(?s)admin token:\s+(\S+)\n\s+console:\s+(\S+) .*demo tenant:\s+(\S+)`).FindStringSubmatch(p.stdout.String())
		time.Sleep(20 * time.Millisecond) // stdout is copied by another goroutine
	}
	if m == nil {
		t.Fatalf("--dev printed no console address:\n%s", p.stdout.String())
	}
	token, consoleURL, tid := m[1], m[2], m[3]
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(consoleURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), `name="token"`) ||
		!strings.HasPrefix(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("GET %s: %d %v", consoleURL, res.StatusCode, res.Header)
	}
	res, err = client.PostForm(strings.TrimSuffix(consoleURL, "/")+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cookies := res.Cookies()
	if res.StatusCode != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].HttpOnly {
		t.Fatalf("sign in: %d %v", res.StatusCode, res.Header)
	}
	req, _ := http.NewRequest("GET", consoleURL+"tenants/"+tid+"/users", nil)
	req.AddCookie(cookies[0])
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "demo@example.com") {
		t.Fatalf("the demo tenant's users: %d %s", res.StatusCode, body)
	}
	p.stop(t)

	dir := t.TempDir()
	q := start(t, bin, dir, []string{"LATCH_LISTEN=127.0.0.1:0", "LATCH_LOG_FORMAT=json", "LATCH_DB=sqlite:" + filepath.Join(dir, "latch.db"),
		"LATCH_SECRET=console test secret, at least 32 bytes", "LATCH_ADMIN_TOKEN="}, "serve")
	res, err = client.Get("http://" + q.addr + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("without an admin token: %d", res.StatusCode)
	}
	q.stop(t)
}
