package accountsv3

import (
	"encoding/json"
	"math"
	"time"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
)

// User is the accounts-v3 user shape that webhook events carry, with the
// reference payload's keys and types exactly: what the model has no field
// for comes from the user's profile under the same key, or is the type's
// zero value; an absent object, id or date is null (never "", which typed
// receivers cannot decode as a date-time).
type User struct {
	ID                        string          `json:"id"`
	CreatedAt                 *string         `json:"createdAt"`
	UpdatedAt                 *string         `json:"updatedAt"`
	Name                      string          `json:"name"`
	FirstName                 string          `json:"firstName"`
	LastName                  string          `json:"lastName"`
	Email                     string          `json:"email"`
	Role                      string          `json:"role"`
	TwoFactorEnabled          bool            `json:"twoFactorEnabled"`
	GoogleSsoEnabled          bool            `json:"googleSsoEnabled"`
	LastLoginAt               *string         `json:"lastLoginAt"`
	Company                   string          `json:"company"`
	AllowCustomerPortalAccess bool            `json:"allowCustomerPortalAccess"`
	Roles                     []string        `json:"roles"`
	LastSeenAt                *string         `json:"lastSeenAt"`
	OrganizationID            *string         `json:"organizationId"`
	Organization              *Organization   `json:"organization"`
	ResellerID                *string         `json:"resellerId"`
	Reseller                  *Reseller       `json:"reseller"`
	Metadata                  []Metadata      `json:"metadata"`
	Tags                      []string        `json:"tags"`
	EmailPreference           EmailPreference `json:"emailPreference"`
}

// Company is what an organisation and a reseller both show.
type Company struct {
	ID           string  `json:"id"`
	CreatedAt    *string `json:"createdAt"`
	UpdatedAt    *string `json:"updatedAt"`
	Name         string  `json:"name"`
	Email        string  `json:"email"`
	Description  string  `json:"description"`
	AllowedUsers int64   `json:"allowedUsers"`
}

// Organization is the user's organisation; its parent is its reseller.
type Organization struct {
	Company
	Address    Address   `json:"address"`
	ResellerID *string   `json:"resellerId"`
	Reseller   *Reseller `json:"reseller"`
}

// Reseller is an organisation that has child organisations.
type Reseller struct {
	Company
	AllowedOrganizations int64 `json:"allowedOrganizations"`
}

// Address is an organisation's postal address, from its profile.
type Address struct {
	AddressLine1 string `json:"addressLine1"`
	AddressLine2 string `json:"addressLine2"`
	City         string `json:"city"`
	State        string `json:"state"`
	Country      string `json:"country"`
	PostalCode   string `json:"postalCode"`
}

// Metadata is one key/value item of a user.
type Metadata struct {
	ID              string   `json:"id"`
	CreatedAt       *string  `json:"createdAt"`
	UpdatedAt       *string  `json:"updatedAt"`
	Key             string   `json:"key"`
	Value           string   `json:"value"`
	ViewPermissions []string `json:"viewPermissions"`
	Visible         bool     `json:"visible"`
}

// EmailPreference says which emails the user wants.
type EmailPreference struct {
	Metrics bool `json:"metrics"`
}

// date is t in RFC 3339 UTC, or null for the zero time.
func date(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := wire.Time(t)
	return &s
}

// id is s, or null when empty.
func id(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// count reads a whole number from a profile (JSON numbers arrive as
// float64, or json.Number), 0 when absent or of another type.
func count(p wire.Object, k string) int64 {
	switch v := p[k].(type) {
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v)
		}
	case int:
		return int64(v)
	case int64:
		return v
	case json.Number:
		n, _ := v.Int64()
		return n
	}
	return 0
}

func address(p wire.Object) Address {
	a := p.Sub("address")
	return Address{AddressLine1: a.Str("addressLine1"), AddressLine2: a.Str("addressLine2"), City: a.Str("city"),
		State: a.Str("state"), Country: a.Str("country"), PostalCode: a.Str("postalCode")}
}

func company(o *identity.Organisation) Company {
	return Company{ID: o.ID, CreatedAt: date(o.CreatedAt), UpdatedAt: date(o.UpdatedAt), Name: o.Name, Email: o.Email,
		Description: o.Description, AllowedUsers: count(wire.Object(o.Profile), "allowedUsers")}
}

func reseller(o *identity.Organisation) *Reseller {
	if o == nil {
		return nil
	}
	return &Reseller{Company: company(o), AllowedOrganizations: count(wire.Object(o.Profile), "allowedOrganizations")}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// RenderUser renders u with its (first) organisation and that
// organisation's parent, the reseller; either may be nil. The reseller id
// is the organisation's parent even when the parent itself could not be
// read (deleted since), as the organisation row says.
func RenderUser(u *identity.User, org, parent *identity.Organisation) User {
	p := wire.Object(u.Profile)
	out := User{
		ID: u.ID, CreatedAt: date(u.CreatedAt), UpdatedAt: date(u.UpdatedAt), FirstName: u.FirstName, LastName: u.LastName,
		Email: u.Email, Role: u.Role, TwoFactorEnabled: u.TwoFactorEnabled, GoogleSsoEnabled: p.Bool("googleSsoEnabled"),
		LastLoginAt: date(u.LastLoginAt), Company: p.Str("company"), AllowCustomerPortalAccess: p.Bool("allowCustomerPortalAccess"),
		Roles: nonNil(u.Roles), LastSeenAt: date(u.LastSeenAt), Metadata: []Metadata{}, Tags: nonNil(u.Tags),
		EmailPreference: EmailPreference{Metrics: p.Sub("emailPreference").Bool("metrics")},
	}
	out.Name = u.FirstName
	if u.LastName != "" {
		if out.Name != "" {
			out.Name += " "
		}
		out.Name += u.LastName
	}
	for _, m := range u.Metadata {
		out.Metadata = append(out.Metadata, Metadata{ID: m.ID, CreatedAt: date(m.CreatedAt), UpdatedAt: date(m.UpdatedAt), Key: m.Key,
			Value: m.Value, ViewPermissions: nonNil(m.ViewPermissions), Visible: m.Visible})
	}
	if org != nil {
		out.OrganizationID = id(org.ID)
		out.Organization = &Organization{Company: company(org), Address: address(wire.Object(org.Profile)),
			ResellerID: id(org.ParentID), Reseller: reseller(parent)}
		out.ResellerID, out.Reseller = id(org.ParentID), reseller(parent)
	}
	return out
}
