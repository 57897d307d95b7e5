package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
)

// resource describes one admin API collection; resourceCommands turns it
// into `latch <name> list|get|create|update|delete`. A new field of the
// API is one line in fields.
type resource struct {
	name    string // singular, as typed: "tenant"
	title   string // in messages: "API key"
	list    string // JSON key of a list answer: "tenants"
	path    string // collection path under the tenant ("/users"), or the full path for tenants
	nested  bool   // lives in a tenant: needs --tenant
	verbs   []string
	paged   bool     // list takes --limit and --cursor
	filters []field  // list query parameters
	fields  []field  // create and update body
	columns []column // list table
	shown   string   // key of a secret the server shows once ("key", "secret")
	confirm bool     // delete needs --yes
	byEmail bool     // get/update/delete accept an email for the id
}

// field is one flag that sets one JSON key.
type field struct {
	flag, key string
	kind      string // "string" (default), "list" (comma-separated), "json", "bool", "file" (value read from a file, - for stdin)
	help      string
}

// column is one column of a list table: the values of keys, joined by a space.
type column struct {
	title string
	keys  []string
}

var (
	tenants = &resource{
		name: "tenant", title: "tenant", list: "tenants", path: "/admin/v1/tenants", paged: true, confirm: true,
		verbs: []string{"list", "get", "create", "update", "delete"},
		fields: []field{
			{flag: "name", key: "name", help: "display name"},
			{flag: "alias", key: "alias", help: "alias, as accounts-v3's accountAlias ([a-z0-9][a-z0-9._-]*)"},
			{flag: "settings", key: "settings", kind: "json", help: `settings object, e.g. '{"refresh_grace_seconds": 10}'`},
		},
		columns: []column{{"ID", []string{"id"}}, {"ALIAS", []string{"alias"}}, {"NAME", []string{"name"}}, {"CREATED", []string{"created_at"}}},
	}
	users = &resource{
		name: "user", title: "user", list: "users", path: "/users", nested: true, paged: true, byEmail: true,
		verbs:   []string{"list", "get", "create", "update", "delete"},
		filters: []field{{flag: "email", key: "email", help: "only the user with this email"}},
		fields: []field{
			{flag: "email", key: "email", help: "email address (unique in the tenant)"},
			{flag: "password", key: "password", help: "password (visible to other local users in the process list: prefer --password-file)"},
			{flag: "password-file", key: "password", kind: "file", help: "read the password from this file (- for stdin)"},
			{flag: "password-hash", key: "password_hash", help: "an existing hash to import (bcrypt, argon2, scrypt PHC)"},
			{flag: "first-name", key: "first_name", help: "first name"},
			{flag: "last-name", key: "last_name", help: "last name"},
			{flag: "role", key: "role", help: "role"},
			{flag: "roles", key: "roles", kind: "list", help: "roles, comma-separated"},
			{flag: "status", key: "status", help: "active or disabled (disabling revokes the user's sessions)"},
			{flag: "email-verified", key: "email_verified", kind: "bool", help: "whether the email is verified"},
			{flag: "tags", key: "tags", kind: "list", help: "tags, comma-separated"},
			{flag: "metadata", key: "metadata", kind: "json", help: `metadata items, e.g. '[{"key": "plan", "value": "pro"}]'`},
			{flag: "profile", key: "profile", kind: "json", help: "profile object (dialect-specific fields)"},
			{flag: "organisation-ids", key: "organisation_ids", kind: "list", help: "organisation ids, comma-separated"},
		},
		columns: []column{{"ID", []string{"id"}}, {"EMAIL", []string{"email"}}, {"NAME", []string{"first_name", "last_name"}},
			{"STATUS", []string{"status"}}, {"2FA", []string{"two_factor_enabled"}}, {"LAST LOGIN", []string{"last_login_at"}}},
	}
	apiKeys = &resource{
		name: "apikey", title: "API key", list: "api_keys", path: "/api-keys", nested: true, shown: "key",
		verbs:  []string{"list", "create", "delete"},
		fields: []field{{flag: "name", key: "name", help: "what the key is for"}},
		columns: []column{{"ID", []string{"id"}}, {"NAME", []string{"name"}}, {"PREFIX", []string{"prefix"}},
			{"CREATED", []string{"created_at"}}, {"LAST USED", []string{"last_used_at"}}, {"REVOKED", []string{"revoked_at"}}},
	}
	orgs = &resource{
		name: "org", title: "organisation", list: "organisations", path: "/organisations", nested: true, paged: true,
		verbs: []string{"list", "get", "create", "update", "delete"},
		fields: []field{
			{flag: "name", key: "name", help: "name"},
			{flag: "email", key: "email", help: "contact email"},
			{flag: "description", key: "description", help: "description"},
			{flag: "parent-id", key: "parent_id", help: "parent organisation (a reseller in accounts-v3)"},
			{flag: "tags", key: "tags", kind: "list", help: "tags, comma-separated"},
			{flag: "profile", key: "profile", kind: "json", help: "profile object"},
		},
		columns: []column{{"ID", []string{"id"}}, {"NAME", []string{"name"}}, {"EMAIL", []string{"email"}}, {"PARENT", []string{"parent_id"}}},
	}
	webhooks = &resource{
		name: "webhook", title: "webhook endpoint", list: "webhooks", path: "/webhooks", nested: true, shown: "secret",
		verbs: []string{"list", "get", "create", "update", "delete"},
		fields: []field{
			{flag: "url", key: "url", help: "where to POST events"},
			{flag: "events", key: "events", kind: "list", help: "event types, comma-separated (account.logged-in, …)"},
			{flag: "signing", key: "signing", help: "standard-webhooks (default) or accounts-v3"},
			{flag: "status", key: "status", help: "healthy re-enables a suspended endpoint"},
		},
		columns: []column{{"ID", []string{"id"}}, {"URL", []string{"url"}}, {"EVENTS", []string{"events"}},
			{"SIGNING", []string{"signing"}}, {"STATUS", []string{"status"}}},
	}
)

// stdin is read by --password-file - and --data -.
var stdin io.Reader = os.Stdin

var verbSummaries = map[string]string{
	"list":   "list %ss",
	"get":    "show one %s",
	"create": "create a %s",
	"update": "change a %s (only the fields given)",
	"delete": "delete a %s",
}

func resourceCommands(r *resource) []*command {
	var out []*command
	for _, verb := range r.verbs {
		out = append(out, &command{name: verb, summary: fmt.Sprintf(verbSummaries[verb], r.title), run: r.runner(verb)})
	}
	return out
}

// invocation is one admin command being run.
type invocation struct {
	r      *resource
	verb   string
	s      *settings
	conn   *clientConfig
	tenant *setting
	asJSON *bool
	stdout io.Writer
	stderr io.Writer
	values map[string]*fieldValue
	data   *string
}

func (r *resource) runner(verb string) runFunc {
	return func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
		inv := &invocation{r: r, verb: verb, stdout: stdout, stderr: stderr, values: map[string]*fieldValue{}}
		s := newSettings(r.name+" "+verb, getenv, stderr)
		inv.s = s
		s.about = strings.ToUpper(verbSummaries[verb][:1]) + fmt.Sprintf(verbSummaries[verb][1:], r.title) + ", through the admin API of a running server."
		id := ""
		switch verb {
		case "get", "update", "delete":
			id = " ID"
			if r.byEmail {
				id = " ID|EMAIL"
			}
			if r == tenants {
				id = " ID|ALIAS"
			}
		}
		tenantArg := ""
		if r.nested {
			tenantArg = " --tenant ID|ALIAS"
		}
		s.usage = fmt.Sprintf("latch %s %s%s%s [flags]", r.name, verb, id, tenantArg)
		inv.conn = addClient(s, true)
		if r.nested {
			inv.tenant = s.add("tenant", "LATCH_TENANT", "", "the tenant, by id or alias")
		}
		inv.asJSON = s.fs.Bool("json", false, "print the server's JSON instead of a table")
		var limit *int
		var cursor *string
		var all *bool
		switch verb {
		case "list":
			for _, f := range r.filters {
				inv.fieldFlag(f)
			}
			if r.paged {
				limit = s.fs.Int("limit", 100, "items per page (1-500)")
				cursor = s.fs.String("cursor", "", "the page after this cursor (printed after a page)")
				all = s.fs.Bool("all", false, "follow every page")
			}
		case "create", "update":
			for _, f := range r.fields {
				inv.fieldFlag(f)
			}
			inv.data = s.fs.String("data", "", "the JSON body, or @FILE, or - for stdin; the flags above override its keys")
		}
		var yes *bool
		if verb == "delete" && r.confirm {
			yes = s.fs.Bool("yes", false, "confirm: deleting a "+r.title+" deletes everything it holds")
		}
		n := 0
		if id != "" {
			n = 1
		}
		pos, err := s.parseArgs(args, n, n)
		if err != nil {
			return err
		}
		if yes != nil && !*yes {
			return usagef("deleting a %s deletes everything it holds (users, sessions, keys, webhooks, events): add --yes", r.title)
		}
		c, err := inv.conn.client()
		if err != nil {
			return err
		}
		base, err := inv.base(ctx, c)
		if err != nil {
			return err
		}
		switch verb {
		case "list":
			q := url.Values{}
			for _, f := range r.filters {
				if v := inv.values[f.flag]; v.set {
					q.Set(f.key, v.v)
				}
			}
			if r.paged {
				if *limit < 1 || *limit > 500 {
					return usagef("--limit must be from 1 to 500")
				}
				q.Set("limit", strconv.Itoa(*limit))
				if *cursor != "" {
					q.Set("cursor", *cursor)
				}
				return inv.list(ctx, c, base, q, *all)
			}
			return inv.list(ctx, c, base, q, false)
		case "get":
			path, err := inv.item(ctx, c, base, pos[0])
			if err != nil {
				return err
			}
			raw, err := c.do(ctx, "GET", path, nil, nil)
			if err != nil {
				return err
			}
			return inv.show(raw)
		case "create", "update":
			body, err := inv.body()
			if err != nil {
				return err
			}
			method, path := "POST", base
			if verb == "update" {
				if len(body) == 0 {
					return usagef("nothing to change: give at least one field flag or --data (see latch %s update -h)", r.name)
				}
				method = "PATCH"
				if path, err = inv.item(ctx, c, base, pos[0]); err != nil {
					return err
				}
			}
			raw, err := c.do(ctx, method, path, nil, body)
			if err != nil {
				return err
			}
			if err := inv.show(raw); err != nil {
				return err
			}
			if verb == "create" && r.shown != "" && !*inv.asJSON {
				fmt.Fprintf(stderr, "The %s is shown this once: keep it now.\n", r.shown)
			}
			return nil
		case "delete":
			path, err := inv.item(ctx, c, base, pos[0])
			if err != nil {
				return err
			}
			if _, err := c.do(ctx, "DELETE", path, nil, nil); err != nil {
				return err
			}
			if !*inv.asJSON {
				fmt.Fprintf(stdout, "deleted %s %s\n", r.title, pos[0])
			}
			return nil
		}
		return fmt.Errorf("unknown verb %s", verb)
	}
}

// fieldValue is a field flag's value; set tells an empty value given on
// purpose (--alias "") from an absent flag.
type fieldValue struct {
	set    bool
	v      string
	isBool bool
}

func (f *fieldValue) String() string     { return f.v }
func (f *fieldValue) Set(v string) error { f.set, f.v = true, v; return nil }
func (f *fieldValue) IsBoolFlag() bool   { return f.isBool }

func (inv *invocation) fieldFlag(f field) {
	v := &fieldValue{isBool: f.kind == "bool"}
	inv.values[f.flag] = v
	inv.s.fs.Var(v, f.flag, f.help)
	inv.s.order = append(inv.s.order, f.flag)
}

// base is the collection's path, with the tenant resolved.
func (inv *invocation) base(ctx context.Context, c *adminClient) (string, error) {
	if !inv.r.nested {
		return inv.r.path, nil
	}
	ref := *inv.tenant.val
	if ref == "" {
		return "", usagef("--tenant (or LATCH_TENANT) is required: the tenant's id or alias")
	}
	id, err := resolveTenant(ctx, c, ref)
	if err != nil {
		return "", err
	}
	return "/admin/v1/tenants/" + url.PathEscape(id) + inv.r.path, nil
}

// item is the path of one item: ids as given, tenants also by alias and
// users also by email.
func (inv *invocation) item(ctx context.Context, c *adminClient, base, ref string) (string, error) {
	id := ref
	switch {
	case inv.r == tenants:
		var err error
		if id, err = resolveTenant(ctx, c, ref); err != nil {
			return "", err
		}
	case inv.r.byEmail && strings.Contains(ref, "@"):
		raw, err := c.do(ctx, "GET", base, url.Values{"email": {ref}}, nil)
		if err != nil {
			return "", err
		}
		var page map[string]json.RawMessage
		var found []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return "", fmt.Errorf("read the %s list: %w", inv.r.title, err)
		}
		if err := json.Unmarshal(page[inv.r.list], &found); err != nil {
			return "", fmt.Errorf("read the %s list: %w", inv.r.title, err)
		}
		if len(found) == 0 {
			return "", fmt.Errorf("no %s with email %s", inv.r.title, ref)
		}
		id = found[0].ID
	}
	return base + "/" + url.PathEscape(id), nil
}

// resolveTenant turns an alias into the tenant's id; an id is used as is.
func resolveTenant(ctx context.Context, c *adminClient, ref string) (string, error) {
	if _, err := uuid.Parse(ref); err == nil {
		return ref, nil
	}
	want := strings.ToLower(strings.TrimSpace(ref))
	q := url.Values{"limit": {"500"}}
	for {
		raw, err := c.do(ctx, "GET", "/admin/v1/tenants", q, nil)
		if err != nil {
			return "", err
		}
		var page struct {
			Tenants []struct {
				ID    string `json:"id"`
				Alias string `json:"alias"`
			} `json:"tenants"`
			Next string `json:"next_cursor"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return "", fmt.Errorf("read the tenant list: %w", err)
		}
		for _, t := range page.Tenants {
			if t.Alias == want {
				return t.ID, nil
			}
		}
		if page.Next == "" {
			return "", fmt.Errorf("no tenant with id or alias %q", ref)
		}
		q.Set("cursor", page.Next)
	}
}

// body is the create/update request: --data, then the field flags on top.
func (inv *invocation) body() (map[string]any, error) {
	body := map[string]any{}
	if d := *inv.data; d != "" {
		var raw []byte
		switch {
		case d == "-":
			b, err := io.ReadAll(stdin)
			if err != nil {
				return nil, fmt.Errorf("--data -: %w", err)
			}
			raw = b
		case strings.HasPrefix(d, "@"):
			b, err := os.ReadFile(d[1:])
			if err != nil {
				return nil, usagef("--data: %v", err)
			}
			raw = b
		default:
			raw = []byte(d)
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, usagef("--data must be a JSON object: %v", err)
		}
	}
	for _, f := range inv.r.fields {
		v := inv.values[f.flag]
		if !v.set {
			continue
		}
		switch f.kind {
		case "list":
			body[f.key] = splitList(v.v)
		case "json":
			var j any
			if err := json.Unmarshal([]byte(v.v), &j); err != nil {
				return nil, usagef("--%s must be JSON: %v", f.flag, err)
			}
			body[f.key] = j
		case "bool":
			b, err := strconv.ParseBool(v.v)
			if err != nil {
				return nil, usagef("--%s must be true or false", f.flag)
			}
			body[f.key] = b
		case "file":
			var b []byte
			var err error
			if v.v == "-" {
				b, err = io.ReadAll(stdin)
			} else {
				b, err = os.ReadFile(v.v)
			}
			if err != nil {
				return nil, usagef("--%s: %v", f.flag, err)
			}
			body[f.key] = strings.TrimRight(string(b), "\r\n")
		default:
			body[f.key] = v.v
		}
	}
	return body, nil
}

// splitList reads a comma-separated list (a flag, a CSV cell): its
// entries trimmed, empty ones dropped.
func splitList(s string) []string {
	items := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			items = append(items, p)
		}
	}
	return items
}

// list prints one page (or every page with all) as a table or JSON.
func (inv *invocation) list(ctx context.Context, c *adminClient, base string, q url.Values, all bool) error {
	var items []json.RawMessage
	next := ""
	for {
		raw, err := c.do(ctx, "GET", base, q, nil)
		if err != nil {
			return err
		}
		var page map[string]json.RawMessage
		if err := json.Unmarshal(raw, &page); err != nil {
			return fmt.Errorf("read the %s list: %w", inv.r.title, err)
		}
		var these []json.RawMessage
		if err := json.Unmarshal(page[inv.r.list], &these); err != nil {
			return fmt.Errorf("read the %s list: %w", inv.r.title, err)
		}
		items = append(items, these...)
		next = ""
		if n, ok := page["next_cursor"]; ok {
			json.Unmarshal(n, &next)
		}
		if !all || next == "" {
			break
		}
		q.Set("cursor", next)
	}
	if *inv.asJSON {
		out := map[string]any{inv.r.list: items}
		if inv.r.paged {
			out["next_cursor"] = next
		}
		return writeJSON(inv.stdout, out)
	}
	tw := tabwriter.NewWriter(inv.stdout, 0, 8, 2, ' ', 0)
	titles := make([]string, len(inv.r.columns))
	for i, col := range inv.r.columns {
		titles[i] = col.title
	}
	fmt.Fprintln(tw, strings.Join(titles, "\t"))
	for _, it := range items {
		obj, err := decodeObject(it)
		if err != nil {
			return err
		}
		cells := make([]string, len(inv.r.columns))
		for i, col := range inv.r.columns {
			var parts []string
			for _, k := range col.keys {
				if s := cell(obj[k]); s != "-" || len(col.keys) == 1 {
					parts = append(parts, s)
				}
			}
			cells[i] = strings.Join(parts, " ")
			if cells[i] == "" {
				cells[i] = "-"
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(items) == 0 {
		fmt.Fprintf(inv.stderr, "No %ss.\n", inv.r.title)
	}
	if next != "" {
		fmt.Fprintf(inv.stderr, "More: add --cursor %s (or --all).\n", next)
	}
	return nil
}

// show prints one object: its keys and values in the server's order, or
// its JSON.
func (inv *invocation) show(raw []byte) error {
	if *inv.asJSON {
		return writeJSON(inv.stdout, json.RawMessage(raw))
	}
	keys, err := objectKeys(raw)
	if err != nil {
		return err
	}
	obj, err := decodeObject(raw)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(inv.stdout, 0, 8, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\n", k, cell(obj[k]))
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func decodeObject(raw []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("the server's answer is not a JSON object: %w", err)
	}
	return m, nil
}

// objectKeys lists a JSON object's keys in order.
func objectKeys(raw []byte) ([]string, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("the server's answer is not a JSON object")
	}
	var keys []string
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// cell renders a JSON value for a table: times in UTC to the second, lists
// of words joined, objects as compact JSON, nothing as "-".
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return "-"
	case string:
		if v == "" {
			return "-"
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil && len(v) >= 20 {
			return t.UTC().Format("2006-01-02 15:04:05Z")
		}
		return v
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case json.Number:
		return v.String()
	case []any:
		if len(v) == 0 {
			return "-"
		}
		parts := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				b, _ := json.Marshal(v)
				return string(b)
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}
