package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// textColumn writes v into one text column through a store method and
// reads back what the store kept.
type textColumn struct {
	name  string
	write func(ctx context.Context, s identity.Store, v string) (kept string, err error)
}

// textColumns covers every text column a store writes, JSON columns by
// a value and a key inside them.
func textColumns(tb testing.TB) []textColumn {
	newUser := func(s identity.Store) *identity.User {
		tn := MustCreateTenant(tb, s, "")
		return &identity.User{ID: identity.NewID(), TenantID: tn.ID, Email: unique("t") + "@example.com", Status: identity.StatusActive, CreatedAt: base, UpdatedAt: base}
	}
	user := func(set func(u *identity.User, v string), get func(u *identity.User) string) func(context.Context, identity.Store, string) (string, error) {
		return func(ctx context.Context, s identity.Store, v string) (string, error) {
			u := newUser(s)
			set(u, v)
			if err := s.CreateUser(ctx, u); err != nil {
				return "", err
			}
			got, err := s.GetUser(ctx, u.TenantID, u.ID)
			if err != nil {
				return "", err
			}
			// An update writes the same columns again.
			if err := s.UpdateUser(ctx, got); err != nil {
				return "", err
			}
			return get(got), nil
		}
	}
	org := func(set func(o *identity.Organisation, v string), get func(o *identity.Organisation) string) func(context.Context, identity.Store, string) (string, error) {
		return func(ctx context.Context, s identity.Store, v string) (string, error) {
			tn := MustCreateTenant(tb, s, "")
			o := &identity.Organisation{ID: identity.NewID(), TenantID: tn.ID, Name: "o", CreatedAt: base, UpdatedAt: base}
			set(o, v)
			if err := s.CreateOrganisation(ctx, o); err != nil {
				return "", err
			}
			got, err := s.GetOrganisation(ctx, tn.ID, o.ID)
			if err != nil {
				return "", err
			}
			return get(got), s.UpdateOrganisation(ctx, got)
		}
	}
	tenant := func(set func(t *identity.Tenant, v string), get func(t *identity.Tenant) string) func(context.Context, identity.Store, string) (string, error) {
		return func(ctx context.Context, s identity.Store, v string) (string, error) {
			t := &identity.Tenant{ID: identity.NewID(), Name: "t", CreatedAt: base, UpdatedAt: base}
			set(t, v)
			if err := s.CreateTenant(ctx, t); err != nil {
				return "", err
			}
			got, err := s.GetTenant(ctx, t.ID)
			if err != nil {
				return "", err
			}
			return get(got), s.UpdateTenant(ctx, got)
		}
	}
	session := func(set func(x *identity.Session, v string), get func(x *identity.Session) string) func(context.Context, identity.Store, string) (string, error) {
		return func(ctx context.Context, s identity.Store, v string) (string, error) {
			u := newUser(s)
			if err := s.CreateUser(ctx, u); err != nil {
				return "", err
			}
			x := loginSession(u, base)
			set(x, v)
			if err := s.CreateSession(ctx, x, identity.SessionWrite{}); err != nil {
				return "", err
			}
			got, err := s.GetSession(ctx, x.ID)
			if err != nil {
				return "", err
			}
			return get(got), nil
		}
	}
	// event writes an event through write and reads back its data value
	// under "v" (or its type when the value went there).
	event := func(write func(ctx context.Context, s identity.Store, u *identity.User, x *identity.Session, e identity.Event) error, where string) func(context.Context, identity.Store, string) (string, error) {
		return func(ctx context.Context, s identity.Store, v string) (string, error) {
			u := newUser(s)
			if err := s.CreateUser(ctx, u); err != nil {
				return "", err
			}
			x := MustCreateSession(tb, s, u, base)
			e := identity.Event{ID: identity.NewID(), TenantID: u.TenantID, UserID: u.ID, SessionID: x.ID, Type: identity.EventLoggedIn, CreatedAt: base,
				Data: map[string]any{"v": "x"}}
			switch where {
			case "key":
				e.Data = map[string]any{v: "x"}
			case "value":
				e.Data = map[string]any{"v": v}
			case "type":
				e.Type = v
			}
			if err := write(ctx, s, u, x, e); err != nil {
				return "", err
			}
			evs, _, err := s.ListEvents(ctx, u.TenantID, identity.EventFilter{}, identity.Page{})
			if err != nil || len(evs) != 1 {
				return "", err
			}
			switch where {
			case "key":
				for k := range evs[0].Data {
					return k, nil
				}
			case "type":
				return evs[0].Type, nil
			}
			got, _ := evs[0].Data["v"].(string)
			return got, nil
		}
	}
	appendEvent := func(ctx context.Context, s identity.Store, _ *identity.User, _ *identity.Session, e identity.Event) error {
		return s.AppendEvents(ctx, e)
	}
	return []textColumn{
		{"tenants.name", tenant(func(t *identity.Tenant, v string) { t.Name = v }, func(t *identity.Tenant) string { return t.Name })},
		{"tenants.alias", tenant(func(t *identity.Tenant, v string) { t.Alias = v + unique("") }, func(t *identity.Tenant) string { return t.Alias[:len(t.Alias)-13] })},
		{"tenants.settings", tenant(func(t *identity.Tenant, v string) { t.Settings.RateLimitIP = v }, func(t *identity.Tenant) string { return t.Settings.RateLimitIP })},
		{"users.email", user(func(u *identity.User, v string) { u.Email = v + "@" + u.ID }, func(u *identity.User) string { local, _, _ := strings.Cut(u.Email, "@"); return local })},
		{"users.username", user(func(u *identity.User, v string) { u.Username = v }, func(u *identity.User) string { return u.Username })},
		{"users.password_hash", user(func(u *identity.User, v string) { u.PasswordHash = v }, func(u *identity.User) string { return u.PasswordHash })},
		{"users.first_name", user(func(u *identity.User, v string) { u.FirstName = v }, func(u *identity.User) string { return u.FirstName })},
		{"users.last_name", user(func(u *identity.User, v string) { u.LastName = v }, func(u *identity.User) string { return u.LastName })},
		{"users.role", user(func(u *identity.User, v string) { u.Role = v }, func(u *identity.User) string { return u.Role })},
		{"users.roles", user(func(u *identity.User, v string) { u.Roles = []string{v} }, func(u *identity.User) string { return first(u.Roles) })},
		{"users.tags", user(func(u *identity.User, v string) { u.Tags = []string{v} }, func(u *identity.User) string { return first(u.Tags) })},
		{"users.metadata", user(func(u *identity.User, v string) {
			u.Metadata = []identity.MetadataItem{{ID: "m", Key: "k", Value: v, ViewPermissions: []string{}, CreatedAt: base.UTC(), UpdatedAt: base.UTC()}}
		}, func(u *identity.User) string { return u.Metadata[0].Value })},
		{"users.profile value", user(func(u *identity.User, v string) { u.Profile = map[string]any{"a": map[string]any{"b": v}} },
			func(u *identity.User) string { s, _ := u.Profile["a"].(map[string]any)["b"].(string); return s })},
		{"users.profile key", user(func(u *identity.User, v string) { u.Profile = map[string]any{v: true} },
			func(u *identity.User) string {
				for k := range u.Profile {
					return k
				}
				return ""
			})},
		{"organisations.name", org(func(o *identity.Organisation, v string) { o.Name = v }, func(o *identity.Organisation) string { return o.Name })},
		{"organisations.email", org(func(o *identity.Organisation, v string) { o.Email = v }, func(o *identity.Organisation) string { return o.Email })},
		{"organisations.description", org(func(o *identity.Organisation, v string) { o.Description = v }, func(o *identity.Organisation) string { return o.Description })},
		{"organisations.tags", org(func(o *identity.Organisation, v string) { o.Tags = []string{v} }, func(o *identity.Organisation) string { return first(o.Tags) })},
		{"organisations.profile", org(func(o *identity.Organisation, v string) { o.Profile = map[string]any{"k": v} },
			func(o *identity.Organisation) string { s, _ := o.Profile["k"].(string); return s })},
		{"sessions.user_agent", session(func(x *identity.Session, v string) { x.UserAgent = v }, func(x *identity.Session) string { return x.UserAgent })},
		{"sessions.origin", session(func(x *identity.Session, v string) { x.Origin = v }, func(x *identity.Session) string { return x.Origin })},
		{"sessions.ip", session(func(x *identity.Session, v string) { x.IP = v }, func(x *identity.Session) string { return x.IP })},
		{"sessions.dialect", session(func(x *identity.Session, v string) { x.Dialect = v }, func(x *identity.Session) string { return x.Dialect })},
		{"sessions.amr", session(func(x *identity.Session, v string) { x.AMR = []string{v} }, func(x *identity.Session) string { return first(x.AMR) })},
		{"sessions.device_name", session(func(x *identity.Session, v string) { x.DeviceName = v }, func(x *identity.Session) string { return x.DeviceName })},
		{"sessions.revoke_reason", func(ctx context.Context, s identity.Store, v string) (string, error) {
			u := newUser(s)
			if err := s.CreateUser(ctx, u); err != nil {
				return "", err
			}
			x := MustCreateSession(tb, s, u, base)
			if err := s.RevokeSession(ctx, x.ID, base, v, nil); err != nil {
				return "", err
			}
			got, err := s.GetSession(ctx, x.ID)
			if err != nil {
				return "", err
			}
			return got.RevokeReason, nil
		}},
		{"sessions.revoke_reason (all of a user's)", func(ctx context.Context, s identity.Store, v string) (string, error) {
			u := newUser(s)
			if err := s.CreateUser(ctx, u); err != nil {
				return "", err
			}
			x := MustCreateSession(tb, s, u, base)
			if _, err := s.RevokeUserSessions(ctx, u.TenantID, u.ID, base, v, nil); err != nil {
				return "", err
			}
			got, err := s.GetSession(ctx, x.ID)
			if err != nil {
				return "", err
			}
			return got.RevokeReason, nil
		}},
		{"sessions.device_name (revoke by device)", func(ctx context.Context, s identity.Store, v string) (string, error) {
			u := newUser(s)
			if err := s.CreateUser(ctx, u); err != nil {
				return "", err
			}
			_, err := s.RevokeDeviceSessions(ctx, u.TenantID, u.ID, v, identity.SessionReauth, base, "x")
			return v, err
		}},
		{"events.data value", event(appendEvent, "value")},
		{"events.data key", event(appendEvent, "key")},
		{"events.type", event(appendEvent, "type")},
		{"events.data (login)", event(func(ctx context.Context, s identity.Store, u *identity.User, _ *identity.Session, e identity.Event) error {
			return s.CreateSession(ctx, loginSession(u, base), identity.SessionWrite{Events: []identity.Event{e}})
		}, "value")},
		{"events.data (rotation)", event(func(ctx context.Context, s identity.Store, _ *identity.User, x *identity.Session, e identity.Event) error {
			return s.AdvanceSession(ctx, x.ID, 0, base.Add(time.Second), []identity.Event{e})
		}, "value")},
		{"events.data (revocation)", event(func(ctx context.Context, s identity.Store, _ *identity.User, x *identity.Session, e identity.Event) error {
			return s.RevokeSession(ctx, x.ID, base, "reuse", []identity.Event{e})
		}, "value")},
		{"api_keys.name", func(ctx context.Context, s identity.Store, v string) (string, error) {
			tn := MustCreateTenant(tb, s, "")
			k := &identity.APIKey{ID: identity.NewID(), TenantID: tn.ID, Name: v, Hash: []byte(identity.NewID()), Prefix: "lak1_x", CreatedAt: base}
			if err := s.CreateAPIKey(ctx, k); err != nil {
				return "", err
			}
			got, err := s.GetAPIKeyByHash(ctx, k.Hash)
			if err != nil {
				return "", err
			}
			return got.Name, nil
		}},
		{"known_addresses.address", func(ctx context.Context, s identity.Store, v string) (string, error) {
			u := newUser(s)
			if err := s.CreateUser(ctx, u); err != nil {
				return "", err
			}
			if err := s.CreateSession(ctx, loginSession(u, base), identity.SessionWrite{KnownAddress: v}); err != nil {
				return "", err
			}
			if known, err := s.KnownAddress(ctx, u.ID, v, base); err != nil || !known {
				return "", err
			}
			return v, nil
		}},
		{"second_factor_attempts.address", func(ctx context.Context, s identity.Store, v string) (string, error) {
			u := newUser(s)
			if err := s.CreateUser(ctx, u); err != nil {
				return "", err
			}
			var kept string
			for range 2 {
				if _, err := s.TakeSecondFactorAttempt(ctx, u.ID, v, base, base.Add(-time.Hour), func(h []identity.SecondFactorAttempt) bool {
					if len(h) > 0 {
						kept = h[0].Address
					}
					return true
				}); err != nil {
					return "", err
				}
			}
			return kept, nil
		}},
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// Ensure every text column either keeps a value exactly or refuses it
// with EINVALID, the same on every store: NUL and invalid UTF-8 are
// refused (PostgreSQL cannot keep them), 4-byte characters are kept. No
// write may fail with an internal error.
func testTextColumns(t *testing.T, s identity.Store) {
	ctx := context.Background()
	for _, col := range textColumns(t) {
		for _, v := range []string{"a\x00b", "caf\xe9", "\xff\xfe", "\x00"} {
			if _, err := col.write(ctx, s, v); identity.ErrorCode(err) != identity.EINVALID {
				t.Errorf("%s = %q: %v, want EINVALID", col.name, v, err)
			}
		}
		const fourByte = "𝄞 😀 𠜎"
		if got, err := col.write(ctx, s, fourByte); err != nil || got != fourByte {
			t.Errorf("%s = %q: kept %q, %v", col.name, fourByte, got, err)
		}
	}
}
