package cli_test

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const adminToken = "cli-admin-token-0123456789"

// Ensure the admin commands drive a running server: create, list (table
// and JSON), get by id, alias and email, update, delete; errors are the
// server's problem details with exit status 1.
func TestAdminCommands(t *testing.T) {
	s := serveWith(t, map[string]string{"LATCH_DB": "sqlite:" + filepath.Join(t.TempDir(), "a.db"), "LATCH_SECRET": secret, "LATCH_ADMIN_TOKEN": adminToken})
	env := map[string]string{"LATCH_URL": s.base, "LATCH_ADMIN_TOKEN": adminToken}
	latch := func(args ...string) (string, string) {
		t.Helper()
		out, errs, code := run(t, env, args...)
		if code != 0 {
			t.Fatalf("latch %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
		}
		return out, errs
	}
	jsonOf := func(args ...string) map[string]any {
		t.Helper()
		out, _ := latch(append(args, "--json")...)
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("latch %s --json: %v\n%s", strings.Join(args, " "), err, out)
		}
		return m
	}

	tenant := jsonOf("tenant", "create", "--name", "Acme", "--alias", "acme", "--settings", `{"refresh_grace_seconds": 5}`)
	tid := tenant["id"].(string)
	if tenant["settings"].(map[string]any)["refresh_grace_seconds"] != 5.0 {
		t.Fatalf("tenant %v", tenant)
	}
	out, _ := latch("tenant", "list")
	if !regexp.MustCompile(`(?m)^ID\s+ALIAS\s+NAME\s+CREATED\n` + tid + `\s+acme\s+Acme\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$`).MatchString(out) {
		t.Fatalf("tenant list:\n%s", out)
	}
	if got := jsonOf("tenant", "get", "acme"); got["id"] != tid {
		t.Fatalf("tenant get by alias: %v", got)
	}

	// --tenant takes the alias too; --data and flags combine.
	env["LATCH_TENANT"] = "acme"
	user := jsonOf("user", "create", "--email", "ada@example.com", "--password", "correct horse battery", "--first-name", "Ada",
		"--roles", "admin, ops", "--data", `{"last_name": "Lovelace", "first_name": "overridden"}`)
	if user["first_name"] != "Ada" || user["last_name"] != "Lovelace" || user["has_password"] != true || len(user["roles"].([]any)) != 2 {
		t.Fatalf("user %v", user)
	}
	uid := user["id"].(string)
	out, _ = latch("user", "get", "ada@example.com")
	if !regexp.MustCompile(`(?m)^id\s+`+uid+`$`).MatchString(out) || !regexp.MustCompile(`(?m)^roles\s+admin,ops$`).MatchString(out) {
		t.Fatalf("user get by email:\n%s", out)
	}
	if got := jsonOf("user", "update", uid, "--status", "disabled", "--email-verified"); got["status"] != "disabled" || got["email_verified"] != true {
		t.Fatalf("user update: %v", got)
	}
	out, _ = latch("user", "list", "--email", "ada@example.com")
	if !strings.Contains(out, "Ada Lovelace") || !strings.Contains(out, "disabled") {
		t.Fatalf("user list:\n%s", out)
	}

	key := jsonOf("apikey", "create", "--name", "ci")
	if !strings.HasPrefix(key["key"].(string), "lak1_") {
		t.Fatalf("api key %v", key)
	}
	_, errs := latch("apikey", "create", "--name", "ci2")
	if !strings.Contains(errs, "shown this once") {
		t.Fatalf("no warning that the key is shown once: %q", errs)
	}
	if list := jsonOf("apikey", "list"); len(list["api_keys"].([]any)) != 2 {
		t.Fatalf("apikey list %v", list)
	}
	latch("apikey", "delete", key["id"].(string))

	org := jsonOf("org", "create", "--name", "Org A", "--tags", "x,y")
	latch("org", "update", org["id"].(string), "--description", "the first")
	if got := jsonOf("org", "get", org["id"].(string)); got["description"] != "the first" {
		t.Fatalf("org %v", got)
	}

	hook := jsonOf("webhook", "create", "--url", "https://hooks.example.com/latch", "--events", "account.logged-in,account.locked")
	if !strings.HasPrefix(hook["secret"].(string), "whsec_") {
		t.Fatalf("webhook %v", hook)
	}
	out, _ = latch("webhook", "list")
	if !strings.Contains(out, "https://hooks.example.com/latch") || !strings.Contains(out, "account.logged-in,account.locked") {
		t.Fatalf("webhook list:\n%s", out)
	}
	latch("webhook", "delete", hook["id"].(string))

	// Errors: the server's problem details, exit 1.
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"conflict":   {[]string{"tenant", "create", "--name", "Again", "--alias", "acme"}, "alias: another tenant has this alias (HTTP 409, conflict)"},
		"validation": {[]string{"user", "create", "--email", "not-an-email"}, "email: must be an email address"},
		"not found":  {[]string{"org", "get", "01a2298c-573a-7e41-9809-1bba9ff998e6"}, "(HTTP 404, not_found)"},
		"no tenant":  {[]string{"user", "list", "--tenant", "nobody"}, `no tenant with id or alias "nobody"`},
		"no user":    {[]string{"user", "get", "nobody@example.com"}, "no user with email nobody@example.com"},
	} {
		if out, errs, code := run(t, env, c.args...); code != 1 || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 1 and %q", name, code, out, errs, c.want)
		}
	}
	if _, errs, code := run(t, map[string]string{"LATCH_URL": s.base, "LATCH_ADMIN_TOKEN": "wrong-token-0123456789"}, "tenant", "list"); code != 1 || !strings.Contains(errs, "HTTP 401") {
		t.Errorf("wrong token: exit %d, %q", code, errs)
	}
	if _, errs, code := run(t, map[string]string{"LATCH_URL": "http://127.0.0.1:1", "LATCH_ADMIN_TOKEN": adminToken}, "tenant", "list"); code != 1 || !strings.Contains(errs, "cannot reach the server at http://127.0.0.1:1") {
		t.Errorf("no server: exit %d, %q", code, errs)
	}

	// Paging: one page, then every page.
	for _, alias := range []string{"b", "c"} {
		latch("tenant", "create", "--name", strings.ToUpper(alias), "--alias", alias)
	}
	out, errs = latch("tenant", "list", "--limit", "2")
	if strings.Count(out, "\n") != 3 || !strings.Contains(errs, "--cursor") {
		t.Fatalf("first page:\n%s%s", out, errs)
	}
	if all := jsonOf("tenant", "list", "--limit", "1", "--all"); len(all["tenants"].([]any)) != 3 || all["next_cursor"] != "" {
		t.Fatalf("--all: %v", all)
	}

	delete(env, "LATCH_TENANT")
	out, _ = latch("tenant", "delete", "acme", "--yes")
	if out != "deleted tenant acme\n" {
		t.Fatalf("tenant delete: %q", out)
	}
	if _, _, code := run(t, env, "tenant", "get", tid); code != 1 {
		t.Fatalf("tenant still there: exit %d", code)
	}
}

// Ensure healthcheck exits 0 against a ready server, found through
// LATCH_LISTEN as the server reads it, and 1 when nothing answers.
func TestHealthcheck(t *testing.T) {
	s := serveWith(t, map[string]string{"LATCH_DB": "sqlite:" + filepath.Join(t.TempDir(), "h.db"), "LATCH_SECRET": secret})
	listen := strings.TrimPrefix(s.base, "http://")
	if out, errs, code := run(t, map[string]string{"LATCH_LISTEN": listen}, "healthcheck"); code != 0 || !strings.Contains(out, "is ready") {
		t.Fatalf("healthcheck: exit %d, %q %q", code, out, errs)
	}
	port := listen[strings.LastIndex(listen, ":"):]
	if _, _, code := run(t, map[string]string{"LATCH_LISTEN": "0.0.0.0" + port}, "healthcheck"); code != 0 {
		t.Fatalf("healthcheck with a wildcard listen address: exit %d", code)
	}
	s.stop()
	if _, errs, code := run(t, map[string]string{"LATCH_URL": s.base}, "healthcheck"); code != 1 || !strings.Contains(errs, "/readyz") {
		t.Fatalf("healthcheck of a stopped server: exit %d, %q", code, errs)
	}
}
