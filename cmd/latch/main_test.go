package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildLatch compiles the real binary once per test.
func buildLatch(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "latch")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	cmd    *exec.Cmd
	addr   string
	stdout *lockedBuffer
}

// lockedBuffer collects a process's output while exec's goroutine writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs the binary and waits for its "latch listening" log line.
func start(t testing.TB, bin, dir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stderr, _ := cmd.StderrPipe()
	out := &lockedBuffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line map[string]any
			if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "latch listening" {
				addr <- line["addr"].(string)
			}
		}
	}()
	select {
	case a := <-addr:
		return &proc{cmd: cmd, addr: a, stdout: out}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not start")
	}
	return nil
}

// stop sends SIGTERM and expects a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}

func needTools(t *testing.T, tools ...string) {
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required in CI", tool)
			}
			t.Skipf("%s not installed", tool)
		}
	}
}

// Ensure the README's walkthrough works as written against the built
// binary on a temporary SQLite file, and SIGTERM exits 0.
func TestREADMEWalkthrough(t *testing.T) {
	needTools(t, "bash", "curl", "jq")
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- walkthrough:start -->\\s*```sh\\n(.*?)```\\s*<!-- walkthrough:end -->").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no walkthrough block")
	}
	dir := t.TempDir()
	bin := buildLatch(t)
	const admin = "blackbox-admin-token-0123456789"
	p := start(t, bin, dir, []string{"LATCH_DB=sqlite:" + filepath.Join(dir, "latch.db"), "LATCH_SECRET=blackbox secret of at least thirty-two bytes",
		"LATCH_ADMIN_TOKEN=" + admin, "LATCH_LISTEN=127.0.0.1:0", "LATCH_LOG_FORMAT=json"}, "serve")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", string(m[1]))
	sh.Env = append(os.Environ(), "LATCH_URL=http://"+p.addr, "ADMIN_TOKEN="+admin)
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []string{
		`"status":"active"`, `["accessToken","refreshToken"]`, `"amr":["pwd"]`, "refresh token rotated",
		`"code":"INVALID_CREDENTIALS"`, `"crv":"Ed25519"`, `"type":"account.logged-in"`, `"type":"account.login-failed"`,
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %s:\n%s", want, out)
		}
	}
	p.stop(t)
}

// Ensure `serve --dev` prints a login curl line that works when pasted.
func TestDevCurlLines(t *testing.T) {
	needTools(t, "bash", "curl")
	dir := t.TempDir()
	p := start(t, buildLatch(t), dir, []string{"LATCH_LISTEN=127.0.0.1:0", "LATCH_LOG_FORMAT=json"}, "serve", "--dev")
	if _, err := os.Stat(filepath.Join(dir, "latch-dev.db")); err != nil {
		t.Fatalf("dev database not in the working directory: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(p.stdout.String(), "Not for production") && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond) // stdout is copied by another goroutine
	}
	lines := strings.Split(p.stdout.String(), "\n")
	// Each dialect's login line, pasted as printed, must log in.
	for marker, want := range map[string]string{
		"/v3/accounts/login ":          `"refreshToken":"lrt1.`,
		"/auth/login ":                 `"token_type":"Bearer"`,
		"/api/v1/Authentication/Login": `"ReAuthenticationToken":"lra1.`,
	} {
		var login string
		for i, l := range lines {
			if strings.Contains(l, marker) {
				login = strings.TrimSuffix(strings.TrimSpace(l), `\`) + " " + strings.TrimSpace(lines[i+1])
				break
			}
		}
		if login == "" {
			t.Fatalf("no %s curl line in:\n%s", marker, p.stdout.String())
		}
		out, err := exec.Command("bash", "-c", login).CombinedOutput()
		if err != nil || !strings.Contains(string(out), want) {
			t.Fatalf("pasted %s: %v\n%s", marker, err, out)
		}
	}
	res, err := http.Get("http://" + p.addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	p.stop(t)
}
