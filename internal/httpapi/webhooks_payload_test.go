package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/latchauth/latch/internal/httpapi"
	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/identity"
)

// The webhook body as a receiver in a typed language declares it, after
// the reference payload: dates are time.Time (null allowed only where the
// value may be absent), counts are numbers.
type typedEvent struct {
	Event       string    `json:"event"`
	Data        typedUser `json:"data"`
	TriggeredAt time.Time `json:"triggeredAt"`
}

type typedUser struct {
	ID                        string             `json:"id"`
	CreatedAt                 time.Time          `json:"createdAt"`
	UpdatedAt                 time.Time          `json:"updatedAt"`
	Name                      string             `json:"name"`
	FirstName                 string             `json:"firstName"`
	LastName                  string             `json:"lastName"`
	Email                     string             `json:"email"`
	Role                      string             `json:"role"`
	TwoFactorEnabled          bool               `json:"twoFactorEnabled"`
	GoogleSsoEnabled          bool               `json:"googleSsoEnabled"`
	LastLoginAt               *time.Time         `json:"lastLoginAt"`
	Company                   string             `json:"company"`
	AllowCustomerPortalAccess bool               `json:"allowCustomerPortalAccess"`
	Roles                     []string           `json:"roles"`
	LastSeenAt                *time.Time         `json:"lastSeenAt"`
	OrganizationID            *string            `json:"organizationId"`
	Organization              *typedOrganization `json:"organization"`
	ResellerID                *string            `json:"resellerId"`
	Reseller                  *typedReseller     `json:"reseller"`
	Metadata                  []struct {
		ID              string    `json:"id"`
		CreatedAt       time.Time `json:"createdAt"`
		UpdatedAt       time.Time `json:"updatedAt"`
		Key             string    `json:"key"`
		Value           string    `json:"value"`
		ViewPermissions []string  `json:"viewPermissions"`
		Visible         bool      `json:"visible"`
	} `json:"metadata"`
	Tags            []string `json:"tags"`
	EmailPreference struct {
		Metrics bool `json:"metrics"`
	} `json:"emailPreference"`
}

// typedCompany is what an organisation and a reseller both carry.
type typedCompany struct {
	ID           string    `json:"id"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	Description  string    `json:"description"`
	AllowedUsers int       `json:"allowedUsers"`
}

type typedOrganization struct {
	typedCompany
	Address struct {
		AddressLine1 string `json:"addressLine1"`
		AddressLine2 string `json:"addressLine2"`
		City         string `json:"city"`
		State        string `json:"state"`
		Country      string `json:"country"`
		PostalCode   string `json:"postalCode"`
	} `json:"address"`
	ResellerID *string        `json:"resellerId"`
	Reseller   *typedReseller `json:"reseller"`
}

type typedReseller struct {
	typedCompany
	AllowedOrganizations int `json:"allowedOrganizations"`
}

// nullable lists the keys whose value may be null where the reference
// shows a value: absent dates, ids and objects.
var nullable = []string{"lastLoginAt", "lastSeenAt", "organizationId", "organization", "resellerId", "reseller"}

// shapeDiffs compares got with the reference sample: the same keys in
// every object (none missing, none added), the same JSON types, null only
// for the nullable keys (and those of also), and a date-time wherever the
// reference shows one.
func shapeDiffs(want, got any, also ...string) []string {
	var diffs []string
	var walk func(path, key string, w, g any)
	walk = func(path, key string, w, g any) {
		if g == nil && (slices.Contains(nullable, key) || slices.Contains(also, key)) {
			return
		}
		if ws, ok := w.(string); ok && strings.HasPrefix(ws, "2019-08-24T") {
			if gs, ok := g.(string); !ok {
				diffs = append(diffs, fmt.Sprintf("%s: %v, want a date-time", path, g))
			} else if _, err := time.Parse(time.RFC3339, gs); err != nil {
				diffs = append(diffs, fmt.Sprintf("%s: %q is not an RFC 3339 date-time", path, gs))
			}
			return
		}
		if fmt.Sprintf("%T", w) != fmt.Sprintf("%T", g) {
			diffs = append(diffs, fmt.Sprintf("%s: %T %v, want %T", path, g, g, w))
			return
		}
		switch w := w.(type) {
		case map[string]any:
			g := g.(map[string]any)
			for k, wv := range w {
				if gv, ok := g[k]; ok {
					walk(path+"."+k, k, wv, gv)
				} else {
					diffs = append(diffs, path+"."+k+": missing")
				}
			}
			for k := range g {
				if _, ok := w[k]; !ok {
					diffs = append(diffs, path+"."+k+": not in the reference payload")
				}
			}
		case []any:
			for i, gv := range g.([]any) {
				walk(fmt.Sprintf("%s[%d]", path, i), key, w[0], gv)
			}
		}
	}
	walk("$", "", want, got)
	slices.Sort(diffs)
	return diffs
}

// Ensure every login event type renders, for a user with no organisation, with
// one, and with one under a reseller, so that a typed receiver decodes it
// (no "" where a date-time or an id belongs, nulls for what is absent,
// numbers for the allowed counts) with exactly the reference payload's keys.
func TestWebhookPayloadGolden(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "golden")
	orgs := "/admin/v1/tenants/" + tid + "/organisations"
	r := env.Admin(t, "POST", orgs, map[string]any{"name": "Reseller", "email": "partner@example.com", "description": "sells",
		"profile": map[string]any{"allowedUsers": 50, "allowedOrganizations": 7, "address": map[string]any{"city": "Bergen"}}})
	if r.Status != http.StatusCreated {
		t.Fatalf("reseller: %d %s", r.Status, r.Body)
	}
	reseller := r.JSON(t)["id"].(string)
	r = env.Admin(t, "POST", orgs, map[string]any{"name": "Shop", "parent_id": reseller,
		"profile": map[string]any{"allowedUsers": 5, "address": map[string]any{"city": "Oslo", "postalCode": "0150"}}})
	shop := r.JSON(t)["id"].(string)
	r = env.Admin(t, "POST", orgs, map[string]any{"name": "Solo"})
	solo := r.JSON(t)["id"].(string)
	users := map[string]string{
		"no organisation": env.MustUser(t, tid, map[string]any{"email": "ada@example.com", "password": "correct horse battery", "first_name": "Ada",
			"metadata": []map[string]any{{"key": "plan", "value": "pro", "visible": true}}}),
		"an organisation":         env.MustUser(t, tid, map[string]any{"email": "bob@example.com", "organisation_ids": []string{solo}}),
		"one under a reseller":    env.MustUser(t, tid, map[string]any{"email": "cy@example.com", "organisation_ids": []string{shop}}),
		"deleted since the event": identity.NewID(),
	}
	if r := env.Do(t, "POST", "/v3/accounts/login", map[string]any{"accountId": tid, "email": "ada@example.com", "password": "correct horse battery"}); r.Status != http.StatusOK {
		t.Fatalf("login: %d", r.Status)
	}
	want := httpapitest.ReadJSON(t, "testdata/reference-webhook-logged-in.json")
	render := httpapi.WebhookPayload(env.Service.Webhooks)
	for who, uid := range users {
		for _, typ := range identity.EventTypes {
			if identity.IsLifecycleEvent(typ) {
				continue // TestWebhookLifecyclePayloadGolden
			}
			d := &identity.Delivery{ID: identity.NewID(), TenantID: tid, EventID: identity.NewID(), EventType: typ, UserID: uid, EventAt: time.Now()}
			if err := render(context.Background(), []*identity.Delivery{d}); err != nil {
				t.Fatal(err)
			}
			var got any
			json.Unmarshal(d.Payload, &got)
			var also []string
			if who == "deleted since the event" { // nothing is known of it but its id
				also = []string{"createdAt", "updatedAt"}
			}
			for _, diff := range shapeDiffs(want, got, also...) {
				t.Errorf("%s, %s: %s", typ, who, diff)
			}
			var ev typedEvent
			dec := json.NewDecoder(bytes.NewReader(d.Payload))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&ev); err != nil {
				t.Fatalf("%s, %s: a typed receiver cannot decode %s: %v", typ, who, d.Payload, err)
			}
			u := ev.Data
			if ev.Event != typ || ev.TriggeredAt.IsZero() || u.ID != uid {
				t.Errorf("%s, %s: %+v", typ, who, ev)
			}
			switch who {
			case "no organisation":
				if u.Organization != nil || u.OrganizationID != nil || u.Reseller != nil || u.ResellerID != nil || u.LastLoginAt == nil ||
					u.CreatedAt.IsZero() || len(u.Metadata) != 1 || u.Metadata[0].CreatedAt.IsZero() || u.Name != "Ada" {
					t.Errorf("%s: %s", who, d.Payload)
				}
			case "an organisation":
				if o := u.Organization; o == nil || o.ID != solo || *u.OrganizationID != solo || o.CreatedAt.IsZero() || o.AllowedUsers != 0 ||
					o.ResellerID != nil || o.Reseller != nil || u.ResellerID != nil || u.Reseller != nil || u.LastLoginAt != nil {
					t.Errorf("%s: %s", who, d.Payload)
				}
			case "one under a reseller":
				o := u.Organization
				if o == nil || o.ID != shop || o.AllowedUsers != 5 || o.Address.City != "Oslo" || o.Address.PostalCode != "0150" ||
					*o.ResellerID != reseller || o.Reseller == nil || o.Reseller.AllowedUsers != 50 || o.Reseller.AllowedOrganizations != 7 ||
					*u.ResellerID != reseller || u.Reseller == nil || u.Reseller.ID != reseller || u.Reseller.Name != "Reseller" || u.Reseller.CreatedAt.IsZero() {
					t.Errorf("%s: %s", who, d.Payload)
				}
			case "deleted since the event":
				if u.Organization != nil || !u.CreatedAt.IsZero() || u.Roles == nil || u.Tags == nil || u.Metadata == nil {
					t.Errorf("%s: %s", who, d.Payload)
				}
			}
		}
	}
}

// Ensure every lifecycle event renders in latch's own shape (the golden
// file's keys and types, sessionId null but for a single session's
// revocation), from the event the admin API's writes recorded: with the
// user's email as it was, so that user.deleted still names it.
func TestWebhookLifecyclePayloadGolden(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	tid := env.MustTenant(t, "lifecycle")
	uid := env.MustUser(t, tid, map[string]any{"email": "ada@example.com", "password": "correct horse battery"})
	user := "/admin/v1/tenants/" + tid + "/users/" + uid
	step := func(method, path string, body any, want int) *httpapitest.Response {
		t.Helper()
		r := env.Admin(t, method, path, body)
		if r.Status != want {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
		return r
	}
	step("PATCH", user, map[string]any{"password": "another horse battery"}, http.StatusOK)
	secret := step("POST", user+"/totp", nil, http.StatusOK).JSON(t)["secret"].(string)
	code, _ := totp.GenerateCode(secret, env.Now())
	step("POST", user+"/totp/confirm", map[string]any{"code": code}, http.StatusOK)
	step("DELETE", user+"/totp", nil, http.StatusNoContent)
	login := env.Do(t, "POST", "/v3/accounts/login", map[string]any{"accountId": tid, "email": "ada@example.com", "password": "another horse battery"})
	if login.Status != http.StatusOK {
		t.Fatalf("login: %d %s", login.Status, login.Body)
	}
	sessions := step("GET", user+"/sessions", nil, http.StatusOK).JSON(t)["sessions"].([]any)
	sid := sessions[0].(map[string]any)["id"].(string)
	step("DELETE", user+"/sessions/"+sid, nil, http.StatusNoContent)
	step("DELETE", user, nil, http.StatusNoContent)

	want := httpapitest.ReadJSON(t, "testdata/webhook-lifecycle.json")
	render := httpapi.WebhookPayload(env.Service.Webhooks)
	for _, typ := range identity.LifecycleEventTypes {
		evs, _, err := env.Store.ListEvents(context.Background(), tid, identity.EventFilter{Type: typ}, identity.Page{})
		if err != nil {
			t.Fatal(err)
		}
		if typ == identity.EventPasswordReset { // recorded by the reset flow, not by these writes
			if len(evs) != 0 {
				t.Fatalf("%s: %d events", typ, len(evs))
			}
			evs = []*identity.Event{{ID: identity.NewID(), TenantID: tid, UserID: uid, Type: typ, CreatedAt: time.Now()}}
		} else if len(evs) != 1 {
			t.Fatalf("%s: %d events, want 1", typ, len(evs))
		}
		e := evs[0]
		d := &identity.Delivery{ID: identity.NewID(), TenantID: tid, EventID: e.ID, EventType: typ, UserID: e.UserID, EventAt: e.CreatedAt}
		if err := render(context.Background(), []*identity.Delivery{d}); err != nil {
			t.Fatal(err)
		}
		var got any
		json.Unmarshal(d.Payload, &got)
		for _, diff := range shapeDiffs(want, got, "sessionId") {
			t.Errorf("%s: %s", typ, diff)
		}
		var p httpapi.LifecyclePayload
		dec := json.NewDecoder(bytes.NewReader(d.Payload))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("%s: %s: %v", typ, d.Payload, err)
		}
		wantEmail := "ada@example.com"
		if typ == identity.EventPasswordReset {
			wantEmail = "" // no recorded event to read it from
		}
		if p.Event != typ || p.Data.ID != uid || p.Data.TenantID != tid || p.Data.Email != wantEmail || !p.TriggeredAt.Equal(e.CreatedAt) ||
			(typ == identity.EventSessionRevoked) != (p.Data.SessionID != nil) {
			t.Errorf("%s: %s", typ, d.Payload)
		}
		if typ == identity.EventSessionRevoked && *p.Data.SessionID != sid {
			t.Errorf("%s: session %s, want %s", typ, *p.Data.SessionID, sid)
		}
	}
}
