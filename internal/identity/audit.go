package identity

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// AdminEventPrefix starts the type of the audit event every admin write
// records: admin.<resource>.<action>, like admin.user.updated or
// admin.sessions.revoked. Admin events are listed with the tenant's other
// events (the audit log) and never delivered to webhooks: endpoints
// subscribe to EventTypes, which are about accounts.
const AdminEventPrefix = "admin."

// auditEvent is the event that records an admin write of resource (its
// id) as admin.<resource>.<action>, with the names of the fields it
// changed (never their values, so never a secret) and extra key/value
// pairs. Writes whose store method takes events (users, second factors,
// sessions) record it in their own transaction; see audit for the rest.
func (r *Runtime) auditEvent(ctx context.Context, tenantID, userID, resource, action, id string, fields []string, extra ...any) Event {
	if fields == nil {
		fields = []string{}
	}
	data := map[string]any{"actor": actor(ctx), "id": id, "fields": fields}
	if v := via(ctx); v != "" {
		data["via"] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		data[extra[i].(string)] = extra[i+1]
	}
	return r.event(AdminEventPrefix+resource+"."+action, tenantID, userID, "", r.now(), data)
}

// audit records an admin write whose store method takes no events
// (tenants, organisations, keys, endpoints) once the write has
// committed: a crash in between loses the event, never records a change
// that did not happen.
func (r *Runtime) audit(ctx context.Context, tenantID, userID, resource, action, id string, fields []string, extra ...any) {
	ev := r.auditEvent(ctx, tenantID, userID, resource, action, id, fields, extra...)
	// The write happened; its record must not depend on whether the
	// caller is still waiting.
	if err := r.Events.AppendEvents(context.WithoutCancel(ctx), ev); err != nil {
		r.log().ErrorContext(ctx, "record admin write", "event", ev.Type, "err", err)
	}
	r.written(ctx, ev)
}

// written tells the server log about the admin writes among events a
// write has committed, and wakes the webhook dispatcher when any other
// event is among them.
func (r *Runtime) written(ctx context.Context, events ...Event) {
	wake := false
	for _, ev := range events {
		if !strings.HasPrefix(ev.Type, AdminEventPrefix) {
			wake = true
			continue
		}
		r.log().InfoContext(ctx, "admin write", "event", ev.Type, "tenant_id", ev.TenantID, "id", ev.Data["id"], "fields", ev.Data["fields"])
	}
	if wake {
		r.wake()
	}
}

// ViaSelfService is the surface (see Via) of the self-service use cases
// (Self): the user acts on its own account, so the audit events they
// record name the user as the actor.
const ViaSelfService = "self-service"

// actor is who made the change ctx carries: the user on the self-service
// surface, an admin on every other.
func actor(ctx context.Context) string {
	if via(ctx) == ViaSelfService {
		return "user"
	}
	return "admin"
}

// lifecycleEvent is the lifecycle event typ about u (one of
// LifecycleEventTypes), with u's email as it was (a deleted user's
// webhook still names it), who acted and extra key/value pairs. The
// store write it describes takes it, so that the change and its event
// commit together: a webhook endpoint never misses a change that
// happened, nor hears of one that did not.
func (r *Runtime) lifecycleEvent(ctx context.Context, typ string, u *User, extra ...any) Event {
	return r.event(typ, u.TenantID, u.ID, "", r.now(), r.lifecycleData(ctx, u, extra...))
}

func (r *Runtime) lifecycleData(ctx context.Context, u *User, extra ...any) map[string]any {
	data := map[string]any{"email": u.Email, "actor": actor(ctx)}
	if v := via(ctx); v != "" {
		data["via"] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		data[extra[i].(string)] = extra[i+1]
	}
	return data
}

// WellFormedID reports whether id can name a latch record: a UUID in its
// 36-character form, in either case. Anything else names nothing, so
// lookups answer ENOTFOUND without asking a store (a NUL or a stray byte
// must never reach one).
func WellFormedID(id string) bool { return len(id) == 36 && uuid.Validate(id) == nil }

// wellFormed returns id in the form stores keep (lower case), or
// ENOTFOUND for what as when it is not an id.
func wellFormed(what, id string) (string, error) {
	if !WellFormedID(id) {
		return "", &Error{Code: ENOTFOUND, Message: what + " not found"}
	}
	return strings.ToLower(id), nil
}

// getTenant returns the tenant with id; ENOTFOUND when there is none,
// or when id is not an id at all.
func getTenant(ctx context.Context, tenants TenantReader, id string) (*Tenant, error) {
	id, err := wellFormed("tenant", id)
	if err != nil {
		return nil, err
	}
	return tenants.GetTenant(ctx, id)
}

// wellFormedIn returns a tenant's id and the id of one of its records
// (what names it) in the form stores keep, or ENOTFOUND when either is
// not an id.
func wellFormedIn(what, tenantID, id string) (string, string, error) {
	tenantID, err := wellFormed("tenant", tenantID)
	if err != nil {
		return "", "", err
	}
	id, err = wellFormed(what, id)
	return tenantID, id, err
}

// getUser returns a user of the tenant; ENOTFOUND when there is none, or
// when either id is not an id at all.
func getUser(ctx context.Context, users UserReader, tenantID, id string) (*User, error) {
	tenantID, id, err := wellFormedIn("user", tenantID, id)
	if err != nil {
		return nil, err
	}
	return users.GetUser(ctx, tenantID, id)
}

// changed lists the names whose values differ between the pairs given as
// name, old, new, ….
func changed(pairs ...any) []string {
	out := []string{}
	for i := 0; i+2 < len(pairs); i += 3 {
		if !reflect.DeepEqual(pairs[i+1], pairs[i+2]) {
			out = append(out, pairs[i].(string))
		}
	}
	return out
}

func tenantChanges(old, t *Tenant) []string {
	out := changed("name", old.Name, t.Name, "alias", old.Alias, t.Alias)
	// Settings by their own names, so the log says which limit moved.
	var a, b map[string]any
	ja, _ := json.Marshal(old.Settings)
	jb, _ := json.Marshal(t.Settings)
	json.Unmarshal(ja, &a)
	json.Unmarshal(jb, &b)
	var settings []string
	for k := range b {
		if !reflect.DeepEqual(a[k], b[k]) {
			settings = append(settings, "settings."+k)
		}
	}
	for k := range a {
		if _, kept := b[k]; !kept {
			settings = append(settings, "settings."+k) // removed, like a migration switched off
		}
	}
	slices.Sort(settings)
	return append(out, settings...)
}

func userChanges(old, u *User) []string {
	return changed("email", old.Email, u.Email, "username", old.Username, u.Username,
		"email_verified", old.EmailVerified, u.EmailVerified, "password", old.PasswordHash, u.PasswordHash,
		"first_name", old.FirstName, u.FirstName, "last_name", old.LastName, u.LastName, "role", old.Role, u.Role,
		"roles", emptyNil(old.Roles), emptyNil(u.Roles), "status", old.Status, u.Status,
		"tags", emptyNil(old.Tags), emptyNil(u.Tags), "metadata", metadataValues(old.Metadata), metadataValues(u.Metadata),
		"profile", emptyMap(old.Profile), emptyMap(u.Profile),
		"organisation_ids", emptyNil(old.OrganisationIDs), emptyNil(u.OrganisationIDs))
}

func organisationChanges(old, o *Organisation) []string {
	return changed("name", old.Name, o.Name, "email", old.Email, o.Email, "description", old.Description, o.Description,
		"parent_id", old.ParentID, o.ParentID, "tags", emptyNil(old.Tags), emptyNil(o.Tags),
		"profile", emptyMap(old.Profile), emptyMap(o.Profile))
}

func emptyNil(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func emptyMap(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	return m
}

// metadataValues is what an admin can change of metadata: keys, values,
// permissions and visibility (ids and times follow from them).
func metadataValues(items []MetadataItem) []MetadataInput {
	var out []MetadataInput
	for _, m := range items {
		v := m.Visible
		out = append(out, MetadataInput{Key: m.Key, Value: m.Value, ViewPermissions: emptyNil(m.ViewPermissions), Visible: &v})
	}
	return out
}

// fields names the fields a webhook PATCH sets.
func (in *WebhookInput) fields() []string {
	return presentFields(in)
}

// presentFields names the JSON fields of a PATCH input (a struct of
// pointers) that are set.
func presentFields(in any) []string {
	out := []string{}
	v := reflect.ValueOf(in).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
			out = append(out, name)
		}
	}
	return out
}
