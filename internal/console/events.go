package console

import (
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// eventTypes are the types offered in the audit log's filter: the account
// events, then the admin actions (admin.<resource>.<action>). The field
// takes any type; these are suggestions.
var eventTypes = append(append([]string{}, identity.EventTypes...),
	"admin.tenant.created", "admin.tenant.updated", "admin.user.created", "admin.user.updated", "admin.user.deleted",
	"admin.users.imported", "admin.sessions.revoked", "admin.session.revoked", "admin.throttle.lifted", "admin.totp.started", "admin.totp.confirmed",
	"admin.totp.disabled", "admin.recovery_codes.regenerated", "admin.organisation.created", "admin.organisation.updated",
	"admin.organisation.deleted", "admin.api_key.created", "admin.api_key.revoked", "admin.webhook.created",
	"admin.webhook.updated", "admin.webhook.deleted", "admin.delivery.redelivered")

// timeLayouts are what the time filters accept, read as UTC: what a
// datetime-local field sends, and what an operator types or pastes.
var timeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02"}

// parseTime reads a time filter; "" is no bound.
func parseTime(field, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, identity.Invalid(field, "must be a time like 2026-03-04 15:04 (UTC) or 2026-03-04T15:04:05Z")
}

// eventsPage is the tenant's audit log, newest first, filtered by type,
// user (an id or an email) and time; each event names its user with a
// link to the user's page.
func (c *Console) eventsPage(w http.ResponseWriter, r *http.Request, s *session) {
	t, ok := c.tenant(w, r, s)
	if !ok {
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	f := identity.EventFilter{Type: strings.TrimSpace(q.Get("type"))}
	data := map[string]any{"Types": eventTypes}
	p := &page{Title: "Audit log · " + t.Name, Tenant: t, Section: "events", Data: data}
	v := view{form: q}
	var err error
	if f.Since, err = parseTime("since", q.Get("since")); err != nil {
		v.err = err
	} else if f.Until, err = parseTime("until", q.Get("until")); err != nil {
		v.err = err
	}
	user := strings.TrimSpace(q.Get("user"))
	switch {
	case v.err != nil:
	case strings.Contains(user, "@"):
		us, _, err := c.d.Service.Admin.ListUsers(ctx, t.ID, identity.UserFilter{Email: user}, identity.Page{Limit: 1})
		if err != nil {
			v.err = err
		} else if len(us) == 0 {
			v.err = identity.Invalid("user", "no user of this tenant has the email %s", user)
		} else {
			f.UserID = us[0].ID
		}
	case user != "":
		if !identity.WellFormedID(user) {
			v.err = identity.Invalid("user", "must be a user id or an email")
		}
		f.UserID = strings.ToLower(user)
	}
	if v.err != nil {
		c.show(w, r, s, "events", p, v)
		return
	}
	cursor := q.Get("cursor")
	evs, next, err := c.d.Service.Admin.ListEvents(ctx, t.ID, f, identity.Page{Limit: pageSize, Cursor: cursor})
	if err != nil {
		v.err = err
		c.show(w, r, s, "events", p, v)
		return
	}
	// Name each event's user by email, once per user of the page.
	emails := map[string]string{}
	for _, e := range evs {
		if _, done := emails[e.UserID]; e.UserID == "" || done || !identity.WellFormedID(e.UserID) {
			continue
		}
		if u, err := c.d.Service.Admin.GetUser(ctx, t.ID, e.UserID); err == nil {
			emails[e.UserID] = u.Email
		} else {
			emails[e.UserID] = ""
		}
	}
	more := ""
	if next != "" {
		nq := maps.Clone(q)
		nq.Set("cursor", next)
		more = "?" + nq.Encode()
	}
	data["Events"], data["Emails"], data["More"], data["Paged"] = evs, emails, more, cursor != ""
	c.show(w, r, s, "events", p, v)
}
