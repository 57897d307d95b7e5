package appauth

import (
	"github.com/latchauth/latch/internal/httpapi/wire"
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

// each calls f for every object in the array under k.
func each[T any](p wire.Object, k string, f func(wire.Object) T) []T {
	out := []T{}
	list, _ := p[k].([]any)
	for _, v := range list {
		if m, ok := v.(map[string]any); ok {
			out = append(out, f(wire.Object(m)))
		}
	}
	return out
}

func attribute(p wire.Object) Attribute {
	tr := p.Sub("translations")
	return Attribute{Description: p.Str("description"), ID: p.Str("id"), Key: p.Str("key"), Name: p.Str("name"),
		TemplateKey: p.Str("template_key"), Translations: Translations{Description: tr.Obj("description"), Name: tr.Obj("name")},
		Values: p.Obj("values")}
}

func file(p wire.Object) File {
	return File{AppID: p.Str("app_id"), ContentType: p.Str("content_type"), CreatedAt: p.Str("created_at"),
		CustomFields: p.Obj("custom_fields"), Filename: p.Str("filename"), ID: p.Str("id"), UpdatedAt: p.Str("updated_at"), URL: p.Str("url")}
}

func orgAddress(p wire.Object) OrgAddress {
	return OrgAddress{City: p.Str("city"), CoAddress: p.Str("co_address"), CompanyID: p.Str("company_id"),
		CompanyName: p.Str("company_name"), Country: p.Str("country"), CreatedAt: p.Str("created_at"),
		HouseNumber: p.Str("house_number"), ID: p.Str("id"), IsDefault: p.Bool("is_default"), Name: p.Str("name"),
		Phone: p.Str("phone"), PostalCode: p.Str("postal_code"), ShippingType: p.Str("shipping_type"),
		StateProvince: p.Str("state_province"), StreetAddress: p.Str("street_address"), UpdatedAt: p.Str("updated_at")}
}

func storeGroup(p wire.Object) StoreGroup {
	return StoreGroup{CountryOfSale: p.Str("country_of_sale"), CreatedAt: p.Str("created_at"), Description: p.Str("description"),
		ID: p.Str("id"), Name: p.Str("name"), Slug: p.Str("slug"), StoreType: p.Str("store_type"), UpdatedAt: p.Str("updated_at")}
}

func tags(ts []string) []Tag {
	out := make([]Tag, 0, len(ts))
	for _, t := range ts {
		out = append(out, Tag{ID: t, Key: t, Name: t})
	}
	return out
}

func renderUser(u *identity.User, orgs []*identity.Organisation) User {
	p := wire.Object(u.Profile)
	addr, prefs := p.Sub("address"), p.Sub("communication_preferences")
	phone := p.Str("phone_number")
	if phone == "" {
		phone = p.Str("phone")
	}
	out := User{
		Additions: p.Obj("additions"),
		Address: Address{City: addr.Str("city"), Country: addr.Str("country"), CountryCode: addr.Str("country_code"),
			Street: addr.Str("street"), ZipCode: addr.Str("zip_code")},
		AppID: u.TenantID, Attributes: each(p, "attributes", attribute),
		CommunicationPreferences: CommPrefs{AllowEmail: prefs.Bool("allow_email"), AllowPostal: prefs.Bool("allow_postal"), AllowSMS: prefs.Bool("allow_sms")},
		CreatedAt:                wire.Time(u.CreatedAt), Email: u.Email, EmailVerified: u.EmailVerified, Files: each(p, "files", file),
		FirstName: u.FirstName, ID: u.ID, IsSuperAdmin: p.Bool("is_super_admin"), Language: p.Str("language"),
		LastLoginAt: wire.Time(u.LastLoginAt), LastName: u.LastName, Market: p.Str("market"), MarketCurrency: p.Str("market_currency"),
		MarketID: p.Str("market_id"), Organisations: make([]Organisation, 0, len(orgs)), PhoneNumber: phone, Status: u.Status,
		StoreGroup: p.Str("store_group"), StoreGroupID: p.Str("store_group_id"), Tags: tags(u.Tags), UpdatedAt: wire.Time(u.UpdatedAt),
	}
	for _, o := range orgs {
		op := wire.Object(o.Profile)
		out.Organisations = append(out.Organisations, Organisation{
			AppID: o.TenantID, Attributes: each(op, "attributes", attribute), BillingAddress: each(op, "billing_address", orgAddress),
			ContactName: op.Str("contact_name"), CreatedAt: wire.Time(o.CreatedAt), CreditCheck: op.Bool("credit_check"),
			CustomFields: op.Obj("custom_fields"), Email: o.Email, ExternalRef: op.Str("external_ref"), Files: each(op, "files", file),
			ID: o.ID, InvoiceEmail: op.Str("invoice_email"), Level: op.Str("level"), Name: o.Name,
			OrganisationNo: op.Str("organisation_number"), Phone: op.Str("phone"), Role: op.Str("role"),
			ShippingAddress: each(op, "shipping_address", orgAddress), Status: op.Str("status"),
			StoreGroups: each(op, "store_groups", storeGroup), Tags: tags(o.Tags), TaxIDVATNumber: op.Str("tax_id_vat_number"),
			UpdatedAt: wire.Time(o.UpdatedAt),
		})
	}
	return out
}
