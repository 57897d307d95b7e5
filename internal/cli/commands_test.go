package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/cli"
	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/store/sqlite"
)

// run runs the command line and returns what it printed and its exit status.
func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := cli.Run(context.Background(), append([]string{"latch"}, args...), envOf(env), &out, &errb)
	return out.String(), errb.String(), cli.ExitCode(err)
}

// server is a `latch serve` running in this process.
type server struct {
	base string
	log  map[string]any // the "latch listening" line
	stop func() error
}

// serveWith starts `latch serve` and waits (up to a generous deadline)
// for its "latch listening" log line.
func serveWith(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	full := map[string]string{"LATCH_LOG_FORMAT": "json", "LATCH_LISTEN": "127.0.0.1:0"}
	for k, v := range env {
		full[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &httpapitest.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- cli.Run(ctx, append([]string{"latch", "serve"}, args...), envOf(full), io.Discard, stderr)
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		for _, line := range strings.Split(stderr.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "latch listening" {
				return &server{base: "http://" + m["addr"].(string), log: m, stop: stop}
			}
		}
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("server did not start:\n%s", stderr.String())
	return nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// leaves lists every command path of the tree, from `latch help`.
func leaves(t *testing.T) [][]string {
	t.Helper()
	out, _, code := run(t, nil, "help")
	if code != 0 {
		t.Fatalf("latch help: exit %d", code)
	}
	var paths [][]string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(line, "  ") {
			continue
		}
		if strings.Contains(f[1], "|") || f[0] == "keys" {
			for _, sub := range strings.Split(f[1], "|") {
				paths = append(paths, []string{f[0], sub})
			}
			continue
		}
		paths = append(paths, []string{f[0]})
	}
	return paths
}

// Ensure -h and --help on every command print its help to stdout and exit
// 0, and that usage mistakes exit 2 with a message on stderr.
func TestHelpAndUsage(t *testing.T) {
	paths := leaves(t)
	if len(paths) < 20 {
		t.Fatalf("only %d commands found in latch help: %v", len(paths), paths)
	}
	for _, p := range paths {
		for _, h := range []string{"-h", "--help"} {
			out, errs, code := run(t, nil, append(slices.Clone(p), h)...)
			if code != 0 || !strings.HasPrefix(out, "Usage: latch "+strings.Join(p, " ")) || errs != "" {
				t.Errorf("latch %s %s: exit %d, stdout %q, stderr %q", strings.Join(p, " "), h, code, out, errs)
			}
		}
	}
	for _, args := range [][]string{{"help", "user", "create"}, {"user", "--help"}, {"user", "help"}, {"--help"}, {"help"}} {
		if out, _, code := run(t, nil, args...); code != 0 || !strings.Contains(out, "Usage: latch") {
			t.Errorf("latch %v: exit %d, %q", args, code, out)
		}
	}
	for name, args := range map[string][]string{
		"no command":       {},
		"unknown command":  {"frobnicate"},
		"unknown sub":      {"user", "frobnicate"},
		"group alone":      {"user"},
		"unknown flag":     {"serve", "--frobnicate"},
		"missing argument": {"tenant", "get", "--admin-token", "0123456789abcdef"},
		"extra argument":   {"migrate", "extra"},
		"bad value":        {"serve", "--access-ttl", "fifteen"},
		"delete unsure":    {"tenant", "delete", "acme", "--admin-token", "0123456789abcdef"},
		"no admin token":   {"tenant", "list"},
		"no tenant":        {"user", "list", "--admin-token", "0123456789abcdef"},
	} {
		out, errs, code := run(t, map[string]string{"LATCH_SECRET": secret, "LATCH_DB": "sqlite:" + filepath.Join(t.TempDir(), "u.db")}, args...)
		if code != 2 || errs == "" || out != "" {
			t.Errorf("%s (latch %v): exit %d, stdout %q, stderr %q; want 2 and a message on stderr", name, args, code, out, errs)
		}
	}
}

// Ensure an on/off flag given alone is true and does not swallow the next
// flag: `--webhook-allow-private --secret X` once took "--secret" as the
// boolean's value and X as a stray argument.
func TestBooleanFlags(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "b.db")
	_, errs, code := run(t, map[string]string{"LATCH_DB": db}, "serve", "--webhook-allow-private", "--secret", "short")
	if code != 2 || !strings.Contains(errs, "LATCH_SECRET") {
		t.Fatalf("exit %d, stderr %q: want --secret read as a flag (and its short value refused)", code, errs)
	}
	_, errs, code = run(t, map[string]string{"LATCH_DB": db, "LATCH_SECRET": secret, "LATCH_WEBHOOK_ALLOW_PRIVATE": "maybe"}, "serve")
	if code != 2 || !strings.Contains(errs, "LATCH_WEBHOOK_ALLOW_PRIVATE") {
		t.Fatalf("a non-boolean variable: exit %d, %q", code, errs)
	}
	_, errs, code = run(t, map[string]string{"LATCH_DB": db, "LATCH_SECRET": secret}, "serve", "--pprof", "--listen", "nowhere")
	if code != 2 || !strings.Contains(errs, "LATCH_LISTEN") {
		t.Fatalf("--pprof --listen nowhere: exit %d, %q", code, errs)
	}
	s := serveWith(t, map[string]string{"LATCH_DB": db, "LATCH_SECRET": secret}, "--webhook-allow-private", "--log-level", "info")
	s.stop()
}

// Ensure settings come from a YAML config file (keys are the variable
// names), that the environment and flags win over it, that an unknown key
// is refused, and that NAME_FILE reads a value from a file.
func TestConfigFileAndSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secretFile := write("secret", secret+"\n")
	cfg := write("latch.yaml", "LATCH_DB: sqlite:"+filepath.Join(dir, "c.db")+"\nLATCH_SECRET_FILE: "+secretFile+
		"\nLATCH_ACCESS_TTL: fifteen\nLATCH_TRUSTED_PROXIES: [10.0.0.0/8, 192.168.0.0/16]\nLATCH_WEBHOOK_ALLOW_PRIVATE: true\n")
	_, errs, code := run(t, nil, "serve", "--config", cfg)
	if code != 2 || !strings.Contains(errs, "LATCH_ACCESS_TTL") || !strings.Contains(errs, "fifteen") {
		t.Fatalf("a bad value in the file: exit %d, %q", code, errs)
	}
	// The variable wins over the file, and LATCH_CONFIG names the file.
	s := serveWith(t, map[string]string{"LATCH_CONFIG": cfg, "LATCH_ACCESS_TTL": "20m", "LATCH_ISSUER": "https://from-env.example"})
	if s.log["issuer"] != "https://from-env.example" {
		t.Fatalf("log %v", s.log)
	}
	s.stop()
	// The flag wins over the variable.
	s = serveWith(t, map[string]string{"LATCH_CONFIG": cfg, "LATCH_ACCESS_TTL": "fifteen"}, "--access-ttl", "10m")
	s.stop()

	for name, c := range map[string]struct {
		file string
		env  map[string]string
		want string
	}{
		"unknown key":      {"LATCH_DB: sqlite:" + filepath.Join(dir, "x.db") + "\nLATCH_ACESS_TTL: 15m\n", nil, "LATCH_ACESS_TTL"},
		"not YAML":         {"LATCH_DB: [\n", nil, "config file"},
		"nested value":     {"LATCH_DB: {a: 1}\n", nil, "LATCH_DB"},
		"both in the file": {"LATCH_SECRET: " + secret + "\nLATCH_SECRET_FILE: " + secretFile + "\n", nil, "LATCH_SECRET_FILE"},
		"both in env":      {"LATCH_DB: sqlite:" + filepath.Join(dir, "x.db") + "\n", map[string]string{"LATCH_SECRET": secret, "LATCH_SECRET_FILE": secretFile}, "LATCH_SECRET_FILE"},
		"missing file":     {"LATCH_DB: sqlite:" + filepath.Join(dir, "x.db") + "\n", map[string]string{"LATCH_SECRET_FILE": filepath.Join(dir, "nope")}, "LATCH_SECRET_FILE"},
	} {
		env := map[string]string{"LATCH_CONFIG": write(strings.ReplaceAll(name, " ", "-")+".yaml", c.file)}
		for k, v := range c.env {
			env[k] = v
		}
		if _, errs, code := run(t, env, "keys", "rotate"); code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming %s", name, code, errs, c.want)
		}
	}
	if _, errs, code := run(t, nil, "migrate", "--config", filepath.Join(dir, "missing.yaml")); code != 2 || !strings.Contains(errs, "missing.yaml") {
		t.Errorf("missing config file: exit %d, %q", code, errs)
	}
	// The secret from a file, read by a command other than serve.
	if out, errs, code := run(t, map[string]string{"LATCH_SECRET_FILE": secretFile, "LATCH_DB": "sqlite:" + filepath.Join(dir, "c.db")}, "keys", "rotate"); code != 0 {
		t.Fatalf("keys rotate with LATCH_SECRET_FILE: exit %d, %q %q", code, out, errs)
	}
}

// Ensure Variables lists what every command reads, so deployment files
// can be checked against it.
func TestVariables(t *testing.T) {
	vars := cli.Variables()
	for _, want := range []string{"LATCH_DB", "LATCH_SECRET", "LATCH_ADMIN_TOKEN", "LATCH_LISTEN", "LATCH_URL", "LATCH_TENANT",
		"LATCH_METRICS_LISTEN", "LATCH_PPROF", "LATCH_ISSUER", "LATCH_REDIS_URL", "LATCH_CONFIG", "LATCH_KEY_ACTIVATE_IN"} {
		if !slices.Contains(vars, want) {
			t.Errorf("Variables() lacks %s: %v", want, vars)
		}
	}
}

// Ensure the issuer is one value per deployment: without LATCH_ISSUER a
// restart listening elsewhere keeps the issuer stored at the first start
// (it was http://LISTEN of each start, so two instances disagreed), and an
// explicit LATCH_ISSUER replaces it for every later start.
func TestIssuerPerDeployment(t *testing.T) {
	env := map[string]string{"LATCH_DB": "sqlite:" + filepath.Join(t.TempDir(), "i.db"), "LATCH_SECRET": secret}
	s := serveWith(t, env, "--listen", "127.0.0.1:0")
	first := s.log["issuer"]
	s.stop()
	if first != "http://127.0.0.1:0" {
		t.Fatalf("first issuer %v", first)
	}
	s = serveWith(t, env, "--listen", "localhost:0")
	if s.log["issuer"] != first {
		t.Fatalf("issuer after listening elsewhere: %v, want %v", s.log["issuer"], first)
	}
	s.stop()
	s = serveWith(t, env, "--issuer", "https://auth.example.com")
	s.stop()
	s = serveWith(t, env)
	if s.log["issuer"] != "https://auth.example.com" {
		t.Fatalf("issuer after LATCH_ISSUER was set once: %v", s.log["issuer"])
	}
	s.stop()
	if _, errs, code := run(t, env, "serve", "--issuer", "not a url"); code != 2 || !strings.Contains(errs, "LATCH_ISSUER") {
		t.Fatalf("a bad issuer: exit %d, %q", code, errs)
	}
}

// Ensure LATCH_METRICS_LISTEN serves /metrics (with latch_build_info) on
// its own address and takes it off the public listener, and that pprof is
// served there only with LATCH_PPROF.
func TestMetricsListener(t *testing.T) {
	env := map[string]string{"LATCH_DB": "sqlite:" + filepath.Join(t.TempDir(), "m.db"), "LATCH_SECRET": secret}
	s := serveWith(t, env)
	if st, body := get(t, s.base+"/metrics"); st != 200 || !strings.Contains(body, "latch_build_info{") {
		t.Fatalf("public /metrics without LATCH_METRICS_LISTEN: %d", st)
	}
	s.stop()

	env["LATCH_METRICS_LISTEN"] = "127.0.0.1:0"
	s = serveWith(t, env)
	m := "http://" + s.log["metrics_addr"].(string)
	if st, body := get(t, m+"/metrics"); st != 200 || !strings.Contains(body, "latch_build_info{") || !strings.Contains(body, "latch_http_request_duration_seconds") && !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics listener /metrics: %d", st)
	}
	if st, _ := get(t, s.base+"/metrics"); st != http.StatusNotFound {
		t.Fatalf("public /metrics with a metrics listener: %d, want 404", st)
	}
	if st, _ := get(t, m+"/debug/pprof/"); st != http.StatusNotFound {
		t.Fatalf("pprof without LATCH_PPROF: %d", st)
	}
	if st, _ := get(t, s.base+"/healthz"); st != 200 {
		t.Fatalf("public /healthz: %d", st)
	}
	s.stop()

	env["LATCH_PPROF"] = "true"
	s = serveWith(t, env)
	m = "http://" + s.log["metrics_addr"].(string)
	if st, body := get(t, m+"/debug/pprof/"); st != 200 || !strings.Contains(body, "goroutine") {
		t.Fatalf("pprof with LATCH_PPROF: %d", st)
	}
	if st, _ := get(t, s.base+"/debug/pprof/"); st == 200 {
		t.Fatal("pprof on the public listener")
	}
	s.stop()

	delete(env, "LATCH_METRICS_LISTEN")
	if _, errs, code := run(t, env, "serve"); code != 2 || !strings.Contains(errs, "LATCH_METRICS_LISTEN") {
		t.Fatalf("LATCH_PPROF without a metrics listener: exit %d, %q", code, errs)
	}
}

// Ensure `keys rotate` keeps the active key's algorithm unless
// --signing-alg names another, refuses a LATCH_SIGNING_ALG that disagrees
// with the active key, never creates a key that signs before it is
// published, and that a server configured for the old algorithm still
// starts afterwards (it once failed: "no ES256 signing key is active").
func TestKeysRotate(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "k.db")
	env := map[string]string{"LATCH_DB": "sqlite:" + dbPath, "LATCH_SECRET": secret}
	es := map[string]string{"LATCH_DB": env["LATCH_DB"], "LATCH_SECRET": secret, "LATCH_SIGNING_ALG": "ES256"}
	s := serveWith(t, es)
	s.stop()

	if _, errs, code := run(t, env, "keys", "rotate", "--activate-in", "0s"); code != 2 || !strings.Contains(errs, "LATCH_KEY_ACTIVATE_IN") {
		t.Fatalf("a key active at once: exit %d, %q", code, errs)
	}
	// The deployment's LATCH_SIGNING_ALG differs from the active key: refused.
	if _, errs, code := run(t, map[string]string{"LATCH_DB": env["LATCH_DB"], "LATCH_SECRET": secret, "LATCH_SIGNING_ALG": "EdDSA"}, "keys", "rotate"); code != 2 || !strings.Contains(errs, "--signing-alg EdDSA") {
		t.Fatalf("rotate with LATCH_SIGNING_ALG=EdDSA on an ES256 deployment: exit %d, %q", code, errs)
	}
	// Nothing said: the active key's algorithm.
	if out, errs, code := run(t, env, "keys", "rotate"); code != 0 || !strings.Contains(out, "new ES256 signing key") {
		t.Fatalf("rotate: exit %d, %q %q", code, out, errs)
	}
	// Said on the command line: another algorithm, published ahead of use.
	out, errs, code := run(t, env, "keys", "rotate", "--signing-alg", "EdDSA", "--activate-in", "1m")
	if code != 0 || !strings.Contains(out, "new EdDSA signing key") || !strings.Contains(out, "switches from ES256 to EdDSA") {
		t.Fatalf("rotate --signing-alg EdDSA: exit %d, %q %q", code, out, errs)
	}
	db, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := db.ListSigningKeys(context.Background())
	db.Close()
	if err != nil || len(keys) != 3 {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	active := 0
	for _, k := range keys[1:] {
		if !k.ActivateAt.After(time.Now()) {
			active++
		}
	}
	if active != 0 {
		t.Fatalf("%d rotated keys already sign", active)
	}
	// Servers configured for either algorithm start, and publish all three.
	for _, e := range []map[string]string{es, env} {
		s := serveWith(t, e)
		_, body := get(t, s.base+"/.well-known/jwks.json")
		if n := strings.Count(body, `"kid"`); n != 3 {
			t.Fatalf("JWKS has %d keys, want 3: %s", n, body)
		}
		if s.log["alg"] != "ES256" {
			t.Fatalf("signing with %v, want the active ES256 key", s.log["alg"])
		}
		s.stop()
	}
}
