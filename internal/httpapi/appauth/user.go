package appauth

import (
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// User is the reference page's user object. Every key is always present
// with its documented JSON type; what the model has no field for is read
// from the user's (or organisation's) profile under the same key, and is
// the type's zero value when absent or of another type.
type User struct {
	Additions                map[string]any `json:"additions"`
	Address                  Address        `json:"address"`
	AppID                    string         `json:"app_id"`
	Attributes               []Attribute    `json:"attributes"`
	CommunicationPreferences CommPrefs      `json:"communication_preferences"`
	CreatedAt                string         `json:"created_at"`
	Email                    string         `json:"email"`
	EmailVerified            bool           `json:"email_verified"`
	Files                    []File         `json:"files"`
	FirstName                string         `json:"first_name"`
	ID                       string         `json:"id"`
	IsSuperAdmin             bool           `json:"is_super_admin"`
	Language                 string         `json:"language"`
	LastLoginAt              string         `json:"last_login_at"`
	LastName                 string         `json:"last_name"`
	Market                   string         `json:"market"`
	MarketCurrency           string         `json:"market_currency"`
	MarketID                 string         `json:"market_id"`
	Organisations            []Organisation `json:"organisations"`
	PhoneNumber              string         `json:"phone_number"`
	Status                   string         `json:"status"`
	StoreGroup               string         `json:"store_group"`
	StoreGroupID             string         `json:"store_group_id"`
	Tags                     []Tag          `json:"tags"`
	UpdatedAt                string         `json:"updated_at"`
}

// Address is a user's postal address.
type Address struct {
	City        string `json:"city"`
	Country     string `json:"country"`
	CountryCode string `json:"country_code"`
	Street      string `json:"street"`
	ZipCode     string `json:"zip_code"`
}

// Attribute is a typed custom attribute.
type Attribute struct {
	Description  string         `json:"description"`
	ID           string         `json:"id"`
	Key          string         `json:"key"`
	Name         string         `json:"name"`
	TemplateKey  string         `json:"template_key"`
	Translations Translations   `json:"translations"`
	Values       map[string]any `json:"values"`
}

// Translations of an attribute's name and description, by language.
type Translations struct {
	Description map[string]any `json:"description"`
	Name        map[string]any `json:"name"`
}

// CommPrefs are the user's communication preferences.
type CommPrefs struct {
	AllowEmail  bool `json:"allow_email"`
	AllowPostal bool `json:"allow_postal"`
	AllowSMS    bool `json:"allow_sms"`
}

// File is an uploaded file's metadata.
type File struct {
	AppID        string         `json:"app_id"`
	ContentType  string         `json:"content_type"`
	CreatedAt    string         `json:"created_at"`
	CustomFields map[string]any `json:"custom_fields"`
	Filename     string         `json:"filename"`
	ID           string         `json:"id"`
	UpdatedAt    string         `json:"updated_at"`
	URL          string         `json:"url"`
}

// Tag is a tag; latch's tags are plain strings, rendered as id, key and name.
type Tag struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	Name string `json:"name"`
}

// Organisation is the reference page's organisation object.
type Organisation struct {
	AppID           string         `json:"app_id"`
	Attributes      []Attribute    `json:"attributes"`
	BillingAddress  []OrgAddress   `json:"billing_address"`
	ContactName     string         `json:"contact_name"`
	CreatedAt       string         `json:"created_at"`
	CreditCheck     bool           `json:"credit_check"`
	CustomFields    map[string]any `json:"custom_fields"`
	Email           string         `json:"email"`
	ExternalRef     string         `json:"external_ref"`
	Files           []File         `json:"files"`
	ID              string         `json:"id"`
	InvoiceEmail    string         `json:"invoice_email"`
	Level           string         `json:"level"`
	Name            string         `json:"name"`
	OrganisationNo  string         `json:"organisation_number"`
	Phone           string         `json:"phone"`
	Role            string         `json:"role"`
	ShippingAddress []OrgAddress   `json:"shipping_address"`
	Status          string         `json:"status"`
	StoreGroups     []StoreGroup   `json:"store_groups"`
	Tags            []Tag          `json:"tags"`
	TaxIDVATNumber  string         `json:"tax_id_vat_number"`
	UpdatedAt       string         `json:"updated_at"`
}

// OrgAddress is a billing or shipping address of an organisation.
type OrgAddress struct {
	City          string `json:"city"`
	CoAddress     string `json:"co_address"`
	CompanyID     string `json:"company_id"`
	CompanyName   string `json:"company_name"`
	Country       string `json:"country"`
	CreatedAt     string `json:"created_at"`
	HouseNumber   string `json:"house_number"`
	ID            string `json:"id"`
	IsDefault     bool   `json:"is_default"`
	Name          string `json:"name"`
	Phone         string `json:"phone"`
	PostalCode    string `json:"postal_code"`
	ShippingType  string `json:"shipping_type"`
	StateProvince string `json:"state_province"`
	StreetAddress string `json:"street_address"`
	UpdatedAt     string `json:"updated_at"`
}

// StoreGroup is a store group an organisation belongs to.
type StoreGroup struct {
	CountryOfSale string `json:"country_of_sale"`
	CreatedAt     string `json:"created_at"`
	Description   string `json:"description"`
	ID            string `json:"id"`
	Name          string `json:"name"`
	Slug          string `json:"slug"`
	StoreType     string `json:"store_type"`
	UpdatedAt     string `json:"updated_at"`
}

// profile reads typed values out of a free JSON object.
type profile map[string]any

func (p profile) str(k string) string {
	s, _ := p[k].(string)
	return s
}

func (p profile) boolean(k string) bool {
	b, _ := p[k].(bool)
	return b
}

func (p profile) obj(k string) map[string]any {
	if m, ok := p[k].(map[string]any); ok {
		return m
	}
	return map[string]any{}
}

func (p profile) sub(k string) profile { return profile(p.obj(k)) }

// each calls f for every object in the array under k.
func each[T any](p profile, k string, f func(profile) T) []T {
	out := []T{}
	list, _ := p[k].([]any)
	for _, v := range list {
		if m, ok := v.(map[string]any); ok {
			out = append(out, f(profile(m)))
		}
	}
	return out
}

func attribute(p profile) Attribute {
	tr := p.sub("translations")
	return Attribute{Description: p.str("description"), ID: p.str("id"), Key: p.str("key"), Name: p.str("name"),
		TemplateKey: p.str("template_key"), Translations: Translations{Description: tr.obj("description"), Name: tr.obj("name")},
		Values: p.obj("values")}
}

func file(p profile) File {
	return File{AppID: p.str("app_id"), ContentType: p.str("content_type"), CreatedAt: p.str("created_at"),
		CustomFields: p.obj("custom_fields"), Filename: p.str("filename"), ID: p.str("id"), UpdatedAt: p.str("updated_at"), URL: p.str("url")}
}

func orgAddress(p profile) OrgAddress {
	return OrgAddress{City: p.str("city"), CoAddress: p.str("co_address"), CompanyID: p.str("company_id"),
		CompanyName: p.str("company_name"), Country: p.str("country"), CreatedAt: p.str("created_at"),
		HouseNumber: p.str("house_number"), ID: p.str("id"), IsDefault: p.boolean("is_default"), Name: p.str("name"),
		Phone: p.str("phone"), PostalCode: p.str("postal_code"), ShippingType: p.str("shipping_type"),
		StateProvince: p.str("state_province"), StreetAddress: p.str("street_address"), UpdatedAt: p.str("updated_at")}
}

func storeGroup(p profile) StoreGroup {
	return StoreGroup{CountryOfSale: p.str("country_of_sale"), CreatedAt: p.str("created_at"), Description: p.str("description"),
		ID: p.str("id"), Name: p.str("name"), Slug: p.str("slug"), StoreType: p.str("store_type"), UpdatedAt: p.str("updated_at")}
}

func tags(ts []string) []Tag {
	out := make([]Tag, 0, len(ts))
	for _, t := range ts {
		out = append(out, Tag{ID: t, Key: t, Name: t})
	}
	return out
}

// rfc3339 renders a time in UTC, or "" for never.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func renderUser(u *identity.User, orgs []*identity.Organisation) User {
	p := profile(u.Profile)
	addr, prefs := p.sub("address"), p.sub("communication_preferences")
	phone := p.str("phone_number")
	if phone == "" {
		phone = p.str("phone")
	}
	out := User{
		Additions: p.obj("additions"),
		Address: Address{City: addr.str("city"), Country: addr.str("country"), CountryCode: addr.str("country_code"),
			Street: addr.str("street"), ZipCode: addr.str("zip_code")},
		AppID: u.TenantID, Attributes: each(p, "attributes", attribute),
		CommunicationPreferences: CommPrefs{AllowEmail: prefs.boolean("allow_email"), AllowPostal: prefs.boolean("allow_postal"), AllowSMS: prefs.boolean("allow_sms")},
		CreatedAt:                rfc3339(u.CreatedAt), Email: u.Email, EmailVerified: u.EmailVerified, Files: each(p, "files", file),
		FirstName: u.FirstName, ID: u.ID, IsSuperAdmin: p.boolean("is_super_admin"), Language: p.str("language"),
		LastLoginAt: rfc3339(u.LastLoginAt), LastName: u.LastName, Market: p.str("market"), MarketCurrency: p.str("market_currency"),
		MarketID: p.str("market_id"), Organisations: make([]Organisation, 0, len(orgs)), PhoneNumber: phone, Status: u.Status,
		StoreGroup: p.str("store_group"), StoreGroupID: p.str("store_group_id"), Tags: tags(u.Tags), UpdatedAt: rfc3339(u.UpdatedAt),
	}
	for _, o := range orgs {
		op := profile(o.Profile)
		out.Organisations = append(out.Organisations, Organisation{
			AppID: o.TenantID, Attributes: each(op, "attributes", attribute), BillingAddress: each(op, "billing_address", orgAddress),
			ContactName: op.str("contact_name"), CreatedAt: rfc3339(o.CreatedAt), CreditCheck: op.boolean("credit_check"),
			CustomFields: op.obj("custom_fields"), Email: o.Email, ExternalRef: op.str("external_ref"), Files: each(op, "files", file),
			ID: o.ID, InvoiceEmail: op.str("invoice_email"), Level: op.str("level"), Name: o.Name,
			OrganisationNo: op.str("organisation_number"), Phone: op.str("phone"), Role: op.str("role"),
			ShippingAddress: each(op, "shipping_address", orgAddress), Status: op.str("status"),
			StoreGroups: each(op, "store_groups", storeGroup), Tags: tags(o.Tags), TaxIDVATNumber: op.str("tax_id_vat_number"),
			UpdatedAt: rfc3339(o.UpdatedAt),
		})
	}
	return out
}
