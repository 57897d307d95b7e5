package accountsv3

import (
	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
)

// User is the accounts-v3 user shape that webhook events carry (DESIGN
// §3.1). Every key is always present with its JSON type; what the model
// has no field for comes from the user's profile under the same key, or
// is the type's zero value.
type User struct {
	ID                        string          `json:"id"`
	CreatedAt                 string          `json:"createdAt"`
	UpdatedAt                 string          `json:"updatedAt"`
	Name                      string          `json:"name"`
	FirstName                 string          `json:"firstName"`
	LastName                  string          `json:"lastName"`
	Email                     string          `json:"email"`
	Role                      string          `json:"role"`
	TwoFactorEnabled          bool            `json:"twoFactorEnabled"`
	GoogleSsoEnabled          bool            `json:"googleSsoEnabled"`
	LastLoginAt               string          `json:"lastLoginAt"`
	Company                   string          `json:"company"`
	AllowCustomerPortalAccess bool            `json:"allowCustomerPortalAccess"`
	Roles                     []string        `json:"roles"`
	LastSeenAt                string          `json:"lastSeenAt"`
	OrganizationID            string          `json:"organizationId"`
	Organization              Organization    `json:"organization"`
	ResellerID                string          `json:"resellerId"`
	Reseller                  Reseller        `json:"reseller"`
	Metadata                  []Metadata      `json:"metadata"`
	Tags                      []string        `json:"tags"`
	EmailPreference           EmailPreference `json:"emailPreference"`
}

// Organization is the user's organisation; its parent is its reseller.
type Organization struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Email       string   `json:"email"`
	Description string   `json:"description"`
	CreatedAt   string   `json:"createdAt"`
	UpdatedAt   string   `json:"updatedAt"`
	Address     Address  `json:"address"`
	ResellerID  string   `json:"resellerId"`
	Reseller    Reseller `json:"reseller"`
}

// Reseller is an organisation that has child organisations.
type Reseller struct {
	ID          string  `json:"id"`
	Name        string  `json:"name"`
	Email       string  `json:"email"`
	Description string  `json:"description"`
	CreatedAt   string  `json:"createdAt"`
	UpdatedAt   string  `json:"updatedAt"`
	Address     Address `json:"address"`
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
	CreatedAt       string   `json:"createdAt"`
	UpdatedAt       string   `json:"updatedAt"`
	Key             string   `json:"key"`
	Value           string   `json:"value"`
	ViewPermissions []string `json:"viewPermissions"`
	Visible         bool     `json:"visible"`
}

// EmailPreference says which emails the user wants.
type EmailPreference struct {
	Metrics bool `json:"metrics"`
}

func address(p wire.Object) Address {
	a := p.Sub("address")
	return Address{AddressLine1: a.Str("addressLine1"), AddressLine2: a.Str("addressLine2"), City: a.Str("city"),
		State: a.Str("state"), Country: a.Str("country"), PostalCode: a.Str("postalCode")}
}

func reseller(o *identity.Organisation) Reseller {
	if o == nil {
		return Reseller{}
	}
	return Reseller{ID: o.ID, Name: o.Name, Email: o.Email, Description: o.Description, CreatedAt: wire.Time(o.CreatedAt),
		UpdatedAt: wire.Time(o.UpdatedAt), Address: address(o.Profile)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// RenderUser renders u with its (first) organisation and that
// organisation's parent, the reseller; either may be nil.
func RenderUser(u *identity.User, org, parent *identity.Organisation) User {
	p := wire.Object(u.Profile)
	out := User{
		ID: u.ID, CreatedAt: wire.Time(u.CreatedAt), UpdatedAt: wire.Time(u.UpdatedAt), FirstName: u.FirstName, LastName: u.LastName,
		Email: u.Email, Role: u.Role, TwoFactorEnabled: u.TwoFactorEnabled, GoogleSsoEnabled: p.Bool("googleSsoEnabled"),
		LastLoginAt: wire.Time(u.LastLoginAt), Company: p.Str("company"), AllowCustomerPortalAccess: p.Bool("allowCustomerPortalAccess"),
		Roles: nonNil(u.Roles), LastSeenAt: wire.Time(u.LastSeenAt), Metadata: []Metadata{}, Tags: nonNil(u.Tags),
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
		out.Metadata = append(out.Metadata, Metadata{ID: m.ID, CreatedAt: wire.Time(m.CreatedAt), UpdatedAt: wire.Time(m.UpdatedAt), Key: m.Key,
			Value: m.Value, ViewPermissions: nonNil(m.ViewPermissions), Visible: m.Visible})
	}
	if org != nil {
		out.OrganizationID = org.ID
		out.Organization = Organization{ID: org.ID, Name: org.Name, Email: org.Email, Description: org.Description,
			CreatedAt: wire.Time(org.CreatedAt), UpdatedAt: wire.Time(org.UpdatedAt), Address: address(org.Profile), ResellerID: org.ParentID,
			Reseller: reseller(parent)}
		out.ResellerID, out.Reseller = org.ParentID, reseller(parent)
	}
	return out
}
