package cli_test

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/cli"
	"github.com/latchauth/latch/internal/httpapi/httpapitest"
)

func envOf(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

const secret = "cli test secret, at least 32 bytes long"

// Ensure a bad value stops the start with a message naming the setting.
func TestBadSettingsNamed(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	cases := map[string]map[string]string{
		"LATCH_ACCESS_TTL":      {"LATCH_ACCESS_TTL": "fifteen"},
		"LATCH_LISTEN":          {"LATCH_LISTEN": "nowhere"},
		"LATCH_DB":              {"LATCH_DB": "mysql://x"},
		"LATCH_SECRET":          {"LATCH_SECRET": "short"},
		"LATCH_ADMIN_TOKEN":     {"LATCH_ADMIN_TOKEN": "short"},
		"LATCH_ARGON2_MEMORY":   {"LATCH_ARGON2_MEMORY": "lots"},
		"LATCH_TRUSTED_PROXIES": {"LATCH_TRUSTED_PROXIES": "10.0.0.0/8,not-a-cidr"},
		"LATCH_SIGNING_ALG":     {"LATCH_SIGNING_ALG": "HS256"},
		"LATCH_LOG_LEVEL":       {"LATCH_LOG_LEVEL": "loud"},
		"LATCH_CORS_ORIGINS":    {"LATCH_CORS_ORIGINS": "https://app.example.com,*"},
		"LATCH_SMTP_URL":        {"LATCH_SMTP_URL": "smtp://user:hunter2secret@mail.example.com"}, // no from=
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			full := map[string]string{"LATCH_DB": db, "LATCH_SECRET": secret}
			for k, v := range env {
				full[k] = v
			}
			var out, errb bytes.Buffer
			err := cli.Run(context.Background(), []string{"latch", "serve"}, envOf(full), &out, &errb)
			if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(errb.String(), name) {
				t.Fatalf("err = %v, stderr %q: want both to name %s", err, errb.String(), name)
			}
			if code := cli.ExitCode(err); code != 2 {
				t.Fatalf("exit status %d, want 2 (a configuration error)", code)
			}
			if strings.Contains(err.Error()+errb.String(), "hunter2secret") {
				t.Fatalf("the message repeats a password: %v", err)
			}
		})
	}
	t.Run("SecretRequired", func(t *testing.T) {
		err := cli.Run(context.Background(), []string{"latch", "serve"}, envOf(map[string]string{"LATCH_DB": db}), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "LATCH_SECRET") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("FlagNamedToo", func(t *testing.T) {
		err := cli.Run(context.Background(), []string{"latch", "serve", "--access-ttl", "1s"}, envOf(map[string]string{"LATCH_DB": db, "LATCH_SECRET": secret}), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "--access-ttl") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("UnknownCommand", func(t *testing.T) {
		var errb bytes.Buffer
		if err := cli.Run(context.Background(), []string{"latch", "frobnicate"}, envOf(nil), &bytes.Buffer{}, &errb); cli.ExitCode(err) != 2 || !strings.Contains(errb.String(), "Usage") {
			t.Fatalf("err = %v, stderr %q", err, errb.String())
		}
	})
}

var addrRE = regexp.MustCompile(`"addr":"([^"]+)"`)

// startServe runs `latch serve` until the returned stop is called.
func startServe(t *testing.T, args []string, env map[string]string) (base string, stop func() error, stdout *httpapitest.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &httpapitest.Buffer{}, &httpapitest.Buffer{}
	done := make(chan error, 1)
	go func() { done <- cli.Run(ctx, append([]string{"latch", "serve"}, args...), envOf(env), stdout, stderr) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			return "http://" + m[1], func() error { cancel(); return <-done }, stdout
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	t.Fatalf("server did not start:\n%s", stderr.String())
	return "", nil, nil
}

// Ensure serve answers, and drains and returns nil when its context ends
// (what SIGTERM does in main).
func TestServeAndShutdown(t *testing.T) {
	env := map[string]string{"LATCH_DB": "sqlite:" + filepath.Join(t.TempDir(), "s.db"), "LATCH_SECRET": secret,
		"LATCH_LISTEN": "127.0.0.1:9", "LATCH_LOG_FORMAT": "json"}
	// The flag wins over the variable.
	base, stop, _ := startServe(t, []string{"--listen", "127.0.0.1:0"}, env)
	res, err := http.Get(base + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
	if res, _ := http.Get(base + "/admin/v1/tenants"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("admin API without a token: %d, want 403", res.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// Ensure --dev generates secrets once, keeps them across restarts, and
// prints the admin token and curl lines.
func TestDev(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LATCH_DB": "sqlite:" + filepath.Join(dir, "dev.db"), "LATCH_LOG_FORMAT": "json", "LATCH_LISTEN": "127.0.0.1:0"}
	_, stop, out := startServe(t, []string{"--dev"}, env)
	stop()
	first := regexp.MustCompile(`admin token:\s+(\S+)`).FindStringSubmatch(out.String())
	if first == nil || !strings.Contains(out.String(), "curl -s http://127.0.0.1:") || !strings.Contains(out.String(), "demo@example.com") {
		t.Fatalf("dev output:\n%s", out.String())
	}
	_, stop, out = startServe(t, []string{"--dev"}, env)
	stop()
	if again := regexp.MustCompile(`admin token:\s+(\S+)`).FindStringSubmatch(out.String()); again == nil || again[1] != first[1] {
		t.Fatal("the admin token changed across restarts")
	}
}

// Ensure migrate and version work from the command line.
func TestCommands(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "c.db")
	var out bytes.Buffer
	if err := cli.Run(context.Background(), []string{"latch", "migrate", "--db", db}, envOf(nil), &out, &bytes.Buffer{}); err != nil ||
		!regexp.MustCompile(`schema version ([2-9]|[1-9][0-9]+)\b`).MatchString(out.String()) {
		t.Fatalf("migrate: %v %q", err, out.String())
	}
	out.Reset()
	if err := cli.Run(context.Background(), []string{"latch", "version"}, envOf(nil), &out, &bytes.Buffer{}); err != nil ||
		!regexp.MustCompile(`^latch \S+\ncommit \S+`).MatchString(out.String()) {
		t.Fatalf("version: %v %q", err, out.String())
	}
}
