package main_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// latchCmd runs the binary and returns stdout, stderr and the exit status.
func latchCmd(t testing.TB, bin string, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	}
	t.Fatal(err)
	return "", "", -1
}

// Ensure the binary's admin commands work against a running server, with
// the documented exit statuses: 0 success, 1 failure, 2 usage.
func TestCLIAgainstServer(t *testing.T) {
	bin := buildLatch(t)
	dir := t.TempDir()
	const admin = "cli-blackbox-admin-token-0123456789"
	p := start(t, bin, dir, []string{"LATCH_DB=sqlite:" + filepath.Join(dir, "latch.db"), "LATCH_SECRET=cli blackbox secret, at least 32 bytes",
		"LATCH_ADMIN_TOKEN=" + admin, "LATCH_LISTEN=127.0.0.1:0", "LATCH_LOG_FORMAT=json"}, "serve")
	tokenFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(admin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"LATCH_URL=http://" + p.addr, "LATCH_ADMIN_TOKEN_FILE=" + tokenFile}

	out, errs, code := latchCmd(t, bin, env, "", "tenant", "create", "--name", "Acme", "--alias", "acme", "--json")
	var tenant map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &tenant) != nil || tenant["alias"] != "acme" {
		t.Fatalf("tenant create: exit %d\n%s%s", code, out, errs)
	}
	// The password from stdin, not the command line.
	out, errs, code = latchCmd(t, bin, env, "correct horse battery\n", "user", "create", "--tenant", "acme", "--email", "ada@example.com", "--password-file", "-")
	if code != 0 || !strings.Contains(out, "has_password") || !strings.Contains(out, "yes") {
		t.Fatalf("user create: exit %d\n%s%s", code, out, errs)
	}
	login := map[string]any{"accountAlias": "acme", "email": "ada@example.com", "password": "correct horse battery"}
	if st, _ := call(t, "POST", "http://"+p.addr+"/v3/accounts/login", login); st != 200 {
		t.Fatalf("login with the password given on stdin: %d", st)
	}
	out, errs, code = latchCmd(t, bin, env, "", "user", "list", "--tenant", "acme")
	if code != 0 || !strings.HasPrefix(out, "ID ") || !strings.Contains(out, "ada@example.com") {
		t.Fatalf("user list: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code = latchCmd(t, bin, env, "", "tenant", "create", "--name", "Again", "--alias", "acme"); code != 1 || !strings.Contains(errs, "HTTP 409") {
		t.Fatalf("conflict: exit %d, %q", code, errs)
	}
	if out, errs, code = latchCmd(t, bin, env, "", "user", "create", "-h"); code != 0 || !strings.HasPrefix(out, "Usage: latch user create") || errs != "" {
		t.Fatalf("user create -h: exit %d, %q %q", code, out, errs)
	}
	if _, errs, code = latchCmd(t, bin, env, "", "user", "create", "--frobnicate"); code != 2 || !strings.Contains(errs, "frobnicate") {
		t.Fatalf("unknown flag: exit %d, %q", code, errs)
	}
	if out, _, code = latchCmd(t, bin, []string{"LATCH_URL=http://" + p.addr}, "", "healthcheck"); code != 0 || !strings.Contains(out, "ready") {
		t.Fatalf("healthcheck: exit %d, %q", code, out)
	}
	p.stop(t)
	if _, _, code = latchCmd(t, bin, []string{"LATCH_URL=http://" + p.addr}, "", "healthcheck"); code != 1 {
		t.Fatalf("healthcheck of a stopped server: exit %d", code)
	}
}

// Ensure `latch version` and latch_build_info report the version and
// commit given at build time, and, in a git checkout built with VCS
// stamping, the checkout's commit from the build info.
func TestVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "latch")
	cmd := exec.Command("go", "build", "-o", bin, "-ldflags",
		"-X github.com/latchauth/latch/internal/cli.Version=v9.8.7 -X github.com/latchauth/latch/internal/cli.Commit=0123abc", ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, _, code := latchCmd(t, bin, nil, "", "version")
	if code != 0 || !strings.HasPrefix(out, "latch v9.8.7\ncommit 0123abc") {
		t.Fatalf("version: exit %d, %q", code, out)
	}
	dir := t.TempDir()
	p := start(t, bin, dir, []string{"LATCH_DB=sqlite:" + filepath.Join(dir, "v.db"), "LATCH_SECRET=version test secret, at least 32 bytes",
		"LATCH_LISTEN=127.0.0.1:0", "LATCH_LOG_FORMAT=json"}, "serve")
	_, metrics := send(t, "GET", "http://"+p.addr+"/metrics", "", "")
	if !strings.Contains(metrics, `latch_build_info{goversion="go`) || !strings.Contains(metrics, `revision="0123abc",version="v9.8.7"} 1`) {
		t.Fatalf("no latch_build_info with the build's version in /metrics:\n%s", grepLines(metrics, "build_info"))
	}
	p.stop(t)

	// A build from a git checkout (CI's fresh clone) carries its commit.
	root, _ := filepath.Abs("../..")
	if fi, err := os.Stat(filepath.Join(root, ".git")); err != nil || !fi.IsDir() {
		t.Log("not a plain git checkout (a worktree's .git is a file, which go build does not stamp): skipping the VCS part")
		return
	}
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Logf("git rev-parse: %v: skipping the VCS part", err)
		return
	}
	cmd = exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=true")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, _, _ = latchCmd(t, bin, nil, "", "version")
	if !strings.Contains(out, "commit "+strings.TrimSpace(string(head))) {
		t.Fatalf("version of a stamped build: %q, want commit %s", out, head)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
