package main_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
)

// Firebase's published example (firebase/scrypt's README): a user's
// exported hash and salt, and the project's parameters.
const (
	fbHash      = "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="
	fbSalt      = "42xEC+ixf3L2lw=="
	fbSeparator = "Bw=="
	fbSignerKey = "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="
	// A self-contained $firescrypt$ hash of "correct horse battery staple".
	fbPHC = "$firescrypt$ln=14,r=8,p=1$bGF0Y2gtZmlyZWJhc2Utc2FsdA==$ymipwoMQl/6e4xewdKJtFgUD0NzmloNmbLiCIUhb73YZ15teZuqLpEsnvjhccpLpmxEIJyD3RJCtliPrJrjAig==$Bw==$" + fbSignerKey
)

// Ensure `latch user import` and `export` work on SQLite while a server
// runs on the same file: see importStory.
func TestUserImportSQLite(t *testing.T) {
	dir := t.TempDir()
	importStory(t, "sqlite:"+filepath.Join(dir, "a.db"), "sqlite:"+filepath.Join(dir, "b.db"))
}

// Ensure the same on PostgreSQL.
func TestUserImportPostgres(t *testing.T) {
	importStory(t, postgrestest.URL(t), postgrestest.URL(t))
}

// importStory imports a file with good and bad lines into database a
// while a server runs on it: the bad lines are reported with their
// numbers and reasons, kept in --rejects, and make the exit status 1; the
// others log in, with a password hashed on import, an existing hash and a
// Firebase export's hash and salt. Then CSV on stdin, an update on
// conflict, one audit event per import, and an export imported into a
// fresh database b, where the users log in with the same ids.
func importStory(t *testing.T, a, b string) {
	bin := buildLatch(t)
	dir := t.TempDir()
	const admin = "import-admin-token-0123456789"
	env := []string{"LATCH_SECRET=import tests' secret, 32 bytes or more", "LATCH_ADMIN_TOKEN=" + admin,
		"LATCH_RATE_LIMIT_IP=off", "LATCH_RATE_LIMIT_ACCOUNT=off"}
	auth := []string{"Authorization", "Bearer " + admin}
	serveOn := func(db string) (string, string) {
		p := start(t, bin, t.TempDir(), append(env, "LATCH_DB="+db, "LATCH_LISTEN="+freePort(t)), "serve")
		base := "http://" + p.addr
		st, tenant := call(t, "POST", base+"/admin/v1/tenants", map[string]any{"name": "Acme", "alias": "acme"}, auth...)
		if st != http.StatusCreated {
			t.Fatalf("create tenant: %d %v", st, tenant)
		}
		return base, tenant["id"].(string)
	}
	login := func(base, email, pw string) int {
		t.Helper()
		st, _ := call(t, "POST", base+"/v3/accounts/login", map[string]any{"accountAlias": "acme", "email": email, "password": pw})
		return st
	}
	userID := func(base, tid, email string) string {
		t.Helper()
		st, page := call(t, "GET", base+"/admin/v1/tenants/"+tid+"/users?email="+email, nil, auth...)
		users, _ := page["users"].([]any)
		if st != http.StatusOK || len(users) != 1 {
			t.Fatalf("user %s: %d %v", email, st, page)
		}
		return users[0].(map[string]any)["id"].(string)
	}
	A, tid := serveOn(a)
	envA := append(env, "LATCH_DB="+a)

	lines := []string{
		`{"email": "ada@example.com", "password": "correct horse battery", "first_name": "Ada", "roles": ["admin"]}`,
		`{"email": "not an email", "password": "correct horse battery"}`,
		``,
		`{"email": "phc@example.com", "password_hash": "` + fbPHC + `"}`,
		`{"email": "fb@example.com", "password_hash": "` + fbHash + `", "salt": "` + fbSalt + `"}`,
		`this is not JSON`,
		`{"email": "ADA@example.com", "password": "another password"}`,
		`{"email": "short@example.com", "password": "short"}`,
		`{"email": "hash@example.com", "password_hash": "$2b$99$notahash"}`,
	}
	file, rejects := filepath.Join(dir, "users.ndjson"), filepath.Join(dir, "rejects.ndjson")
	os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
	out, errOut, code := latchCmd(t, bin, envA, "", "user", "import", "--tenant", "acme", "--rejects", rejects, "--progress-every", "0",
		"--batch", "3", "--firebase-signer-key", fbSignerKey, "--firebase-salt-separator", fbSeparator, file)
	if code != 1 {
		t.Fatalf("import with bad lines: exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"line 2: email: must be an email address", "line 6: the line must be a JSON object",
		"line 8: password: must be at least 8 characters", "line 9: password_hash: "} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "line 3:") || strings.Contains(errOut, "line 7:") {
		t.Errorf("a blank line or a taken email was reported as bad:\n%s", errOut)
	}
	if !strings.Contains(errOut, "progress: line 4, 3 users") || !strings.Contains(errOut, "progress: line 9, 8 users") {
		t.Errorf("no progress line per batch (stderr is not a terminal):\n%s", errOut)
	}
	outLines := strings.Split(strings.TrimSpace(out), "\n")
	if last := outLines[len(outLines)-1]; !strings.HasPrefix(last, "imported 3, updated 0, skipped 1, rejected 4 in ") || !strings.HasSuffix(last, " s") {
		t.Errorf("the last line is not the summary: %q", last)
	}
	got, _ := os.ReadFile(rejects)
	if want := strings.Join([]string{lines[1], lines[5], lines[7], lines[8]}, "\n") + "\n"; string(got) != want {
		t.Errorf("rejects file:\n%s\nwant:\n%s", got, want)
	}
	for _, c := range []struct{ email, pw string }{
		{"ada@example.com", "correct horse battery"}, {"phc@example.com", "correct horse battery staple"}, {"fb@example.com", "user1password"},
	} {
		if st := login(A, c.email, c.pw); st != http.StatusOK {
			t.Errorf("log in as imported %s: %d", c.email, st)
		}
	}
	if st := login(A, "ada@example.com", "another password"); st != http.StatusUnauthorized {
		t.Errorf("a skipped line changed the user's password: %d", st)
	}

	// Mistakes on the command line are usage errors (2), before any line.
	for _, args := range [][]string{
		{"--on-conflict", "overwrite"}, {"--format", "xml"}, {"--firebase-signer-key", fbSignerKey, "--firebase-salt-separator", fbSeparator, "--firebase-mem-cost", "30"},
	} {
		if out, errOut, code := latchCmd(t, bin, envA, "", append(append([]string{"user", "import", "--tenant", "acme"}, args...), file)...); code != 2 || out != "" {
			t.Errorf("import %v: exit %d, want 2\n%s%s", args, code, out, errOut)
		}
	}

	// CSV on stdin: a header row, lists comma-separated in a cell.
	csv := "email,first_name,roles,password\ncsv@example.com,Cee,\"admin,user\",correct horse battery\nnot-an-email,X,,\n"
	out, errOut, code = latchCmd(t, bin, envA, csv, "user", "import", "--tenant", tid, "--format", "csv", "--rejects", rejects, "-")
	if code != 1 || !strings.Contains(errOut, "line 3: email:") || !strings.Contains(out, "imported 1, updated 0, skipped 0, rejected 1") {
		t.Fatalf("CSV import: exit %d\n%s%s", code, out, errOut)
	}
	if got, _ := os.ReadFile(rejects); string(got) != "email,first_name,roles,password\nnot-an-email,X,,\n" {
		t.Errorf("CSV rejects file (the header, then the row): %q", got)
	}
	_, user := call(t, "GET", A+"/admin/v1/tenants/"+tid+"/users/"+userID(A, tid, "csv@example.com"), nil, auth...)
	if roles, _ := user["roles"].([]any); len(roles) != 2 || roles[0] != "admin" || roles[1] != "user" || user["first_name"] != "Cee" {
		t.Errorf("CSV user: %v", user)
	}
	if st := login(A, "csv@example.com", "correct horse battery"); st != http.StatusOK {
		t.Errorf("log in as the CSV user: %d", st)
	}

	// --on-conflict update: the line's fields replace the user's, and the
	// new password ends the sessions of the old one.
	st, session := call(t, "POST", A+"/v3/accounts/login", map[string]any{"accountAlias": "acme", "email": "ada@example.com", "password": "correct horse battery"})
	if st != http.StatusOK || session["refreshToken"] == nil {
		t.Fatalf("log in before the update: %d %v", st, session)
	}
	out, errOut, code = latchCmd(t, bin, envA, `{"email": "Ada@Example.com", "first_name": "Augusta", "password": "a new password 42"}`+"\n",
		"user", "import", "--tenant", "acme", "--on-conflict", "update", "-")
	if code != 0 || !strings.Contains(out, "imported 0, updated 1, skipped 0, rejected 0") {
		t.Fatalf("update on conflict: exit %d\n%s%s", code, out, errOut)
	}
	if login(A, "ada@example.com", "a new password 42") != http.StatusOK || login(A, "ada@example.com", "correct horse battery") != http.StatusUnauthorized {
		t.Errorf("update on conflict did not replace the password")
	}
	if st, _ := call(t, "POST", A+"/v3/accounts/login-refresh-token", map[string]any{"refreshToken": session["refreshToken"]}); st == http.StatusOK {
		t.Errorf("a session of the old password still refreshes after the update")
	}
	_, user = call(t, "GET", A+"/admin/v1/tenants/"+tid+"/users/"+userID(A, tid, "ada@example.com"), nil, auth...)
	if user["first_name"] != "Augusta" || len(user["roles"].([]any)) != 1 {
		t.Errorf("update on conflict: %v (the roles it did not name must stay)", user)
	}

	// One audit event per import, with its counts.
	_, events := call(t, "GET", A+"/admin/v1/tenants/"+tid+"/events?type=admin.users.imported", nil, auth...)
	if evs, _ := events["events"].([]any); len(evs) != 3 {
		t.Errorf("audit events of three imports: %v", events)
	} else if d := evs[0].(map[string]any)["data"].(map[string]any); d["updated"] != float64(1) || d["via"] != "cli" {
		t.Errorf("the last import's event: %v", d)
	}

	// Export, then import into a fresh database: same users, same ids,
	// same passwords.
	export, errOut, code := latchCmd(t, bin, envA, "", "user", "export", "--tenant", "acme")
	if code != 0 || strings.Count(export, "\n") != 4 || !strings.Contains(export, `"password_hash":"$argon2id$`) {
		t.Fatalf("export: exit %d\n%s%s", code, export, errOut)
	}
	B, tidB := serveOn(b)
	out, errOut, code = latchCmd(t, bin, append(env, "LATCH_DB="+b), export, "user", "import", "--tenant", tidB, "-")
	if code != 0 || !strings.Contains(out, "imported 4, updated 0, skipped 0, rejected 0") {
		t.Fatalf("import of the export: exit %d\n%s%s", code, out, errOut)
	}
	for _, c := range []struct{ email, pw string }{
		{"ada@example.com", "a new password 42"}, {"fb@example.com", "user1password"}, {"csv@example.com", "correct horse battery"},
	} {
		if st := login(B, c.email, c.pw); st != http.StatusOK {
			t.Errorf("log in after the round trip as %s: %d", c.email, st)
		}
		if userID(A, tid, c.email) != userID(B, tidB, c.email) {
			t.Errorf("%s has another id after the round trip", c.email)
		}
	}
	again, _, _ := latchCmd(t, bin, append(env, "LATCH_DB="+b), "", "user", "export", "--tenant", "acme")
	if again != export {
		t.Errorf("the export of the imported export differs:\n%s\nwant:\n%s", again, export)
	}
}
