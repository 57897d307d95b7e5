package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/httpapi/openapitest"
	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
)

// checked records every exchange of the tests' HTTP clients with a latch
// process that start began, and fails the test that started it with
// each disagreement with the OpenAPI document (package openapitest).
// Clients with a transport of their own (the overload tests, which
// measure) are not checked.
var checked = &openapitest.Transport{Base: http.DefaultTransport}

func TestMain(m *testing.M) {
	http.DefaultTransport = checked
	os.Exit(m.Run())
}

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

// onEachStore runs story as a subtest against each store: a SQLite file
// of the subtest's own, and a PostgreSQL schema of its own (skipped
// without LATCH_TEST_POSTGRES_URL).
func onEachStore(t *testing.T, story func(t *testing.T, db string)) {
	t.Run("SQLite", func(t *testing.T) { story(t, "sqlite:"+filepath.Join(t.TempDir(), "latch.db")) })
	t.Run("PostgreSQL", func(t *testing.T) { story(t, postgrestest.URL(t)) })
}

type proc struct {
	cmd    *exec.Cmd
	addr   string
	stdout *httpapitest.Buffer
}

// start runs the binary and waits for its "latch listening" log line.
func start(t testing.TB, bin, dir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stderr, _ := cmd.StderrPipe()
	out := &httpapitest.Buffer{}
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
		checked.Watch(t, a)
		return &proc{cmd: cmd, addr: a, stdout: out}
	case <-time.After(30 * time.Second):
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
	case <-time.After(40 * time.Second): // the drain takes up to 20 s
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

// readmeBlock returns the shell block of README.md between the markers
// <!-- NAME:start --> and <!-- NAME:end -->.
func readmeBlock(t *testing.T, name string) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)<!-- " + name + ":start -->\\s*```sh\\n(.*?)```\\s*<!-- " + name + ":end -->").FindSubmatch(readme)
	if m == nil {
		t.Fatalf("README has no %s block", name)
	}
	return string(m[1])
}

// freePort returns a loopback address nothing listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runREADME runs README.md's set-up block, which starts a server, then
// the block name twice in a row (the second run must not trip over the
// first's), then stops the server with SIGTERM, in bash -euo pipefail
// with curl, jq and the built binary, also on PATH as latch. The only
// changes are the binary instead of `go run` and a free port instead of
// 8080. It returns the output of the two runs; the second ends with
// "server exited 0" when the server did.
func runREADME(t *testing.T, name string) []string {
	t.Helper()
	needTools(t, "bash", "curl", "jq", "openssl")
	setup, walk := readmeBlock(t, "walkthrough-setup"), readmeBlock(t, name)
	dir := t.TempDir()
	bin := buildLatch(t)
	addr := freePort(t)
	if !strings.Contains(setup, "go run ./cmd/latch serve &") || !strings.Contains(setup, "127.0.0.1:8080") {
		t.Fatalf("the set-up block no longer starts the server as this test expects:\n%s", setup)
	}
	setup = strings.ReplaceAll(setup, "go run ./cmd/latch", bin)
	setup = strings.ReplaceAll(setup, "127.0.0.1:8080", addr)
	script := setup + "SERVER=$!\n" + walk + "echo '== second run'\n" + walk + "kill -TERM $SERVER\nwait $SERVER\necho 'server exited 0'\n"

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	sh.Dir = dir
	sh.Env = append(os.Environ(), "LATCH_LISTEN="+addr, "LATCH_LOG_FORMAT=json", "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	sh.Cancel = func() error { return syscall.Kill(-sh.Process.Pid, syscall.SIGKILL) }
	t.Cleanup(func() {
		if sh.Process != nil {
			syscall.Kill(-sh.Process.Pid, syscall.SIGKILL)
		}
	})
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("README block %s failed: %v\n%s", name, err, out)
	}
	runs := strings.SplitN(string(out), "== second run", 2)
	if len(runs) != 2 {
		t.Fatalf("no second run:\n%s", out)
	}
	if !strings.Contains(runs[0], `{"status":"ready"}`) {
		t.Errorf("the set-up did not wait for /readyz:\n%s", runs[0])
	}
	if !strings.Contains(runs[1], "server exited 0") {
		t.Errorf("the server did not exit 0 on SIGTERM:\n%s", runs[1])
	}
	return runs
}

// Ensure the README's set-up and walkthrough work as written against the
// built binary (see runREADME).
func TestREADMEWalkthrough(t *testing.T) {
	for i, run := range runREADME(t, "walkthrough") {
		for _, want := range []string{
			`"status":"active"`, `["accessToken","refreshToken"]`, `"amr":["pwd"]`, "refresh token rotated",
			`"code":"INVALID_CREDENTIALS"`, `"crv":"Ed25519"`, `"type":"account.logged-in"`, `"type":"account.login-failed"`,
		} {
			if !strings.Contains(run, want) {
				t.Errorf("run %d of the walkthrough lacks %s:\n%s", i+1, want, run)
			}
		}
	}
}

// Ensure the README's "Import from a file" works as written: the bad
// line is reported and kept, the imported users log in (and the bcrypt
// hash is upgraded on the way), the export has them, and a second run
// skips them.
func TestREADMEImport(t *testing.T) {
	runs := runREADME(t, "import")
	for i, want := range []string{"imported 2, updated 0, skipped 0, rejected 1", "imported 0, updated 0, skipped 2, rejected 1"} {
		run := runs[i]
		for _, w := range []string{want, "line 3: email: must be an email address", "exit status 1", `{"email": "not an email"`,
			`["accessToken","refreshToken"]`, `{"email":"grace@example.com","password_hash":"$argon2id$…"}`, `{"email":"alan@example.com","password_hash":"$argon2id$…"}`} {
			if !strings.Contains(run, w) {
				t.Errorf("run %d of the import block lacks %s:\n%s", i+1, w, run)
			}
		}
	}
}

// Ensure `serve --dev` prints a login curl line that works when pasted.
func TestDevCurlLines(t *testing.T) {
	needTools(t, "bash", "curl")
	dir := t.TempDir()
	p := start(t, buildLatch(t), dir, []string{"LATCH_LISTEN=127.0.0.1:0", "LATCH_LOG_FORMAT=json"}, "serve", "--dev")
	if _, err := os.Stat(filepath.Join(dir, "latch-dev.db")); err != nil {
		t.Fatalf("dev database not in the working directory: %v", err)
	}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(p.stdout.String(), "Not for production") && time.Now().Before(deadline); {
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
