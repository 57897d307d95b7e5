package identity

import (
	htmltemplate "html/template"
	"net/mail"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"
)

// Mail is one message latch sends to a user. Text and HTML are the two
// alternatives of one message (multipart/alternative).
type Mail struct {
	From    string // "" for the mailer's default sender
	To      string
	Subject string
	Text    string
	HTML    string
}

// Mailer delivers mail (package mail). Send queues m and returns at once:
// a request must not wait for, nor its timing reveal, a mail server. Its
// error means the mail was not queued (the queue is full).
type Mailer interface {
	Send(m Mail) error
}

// MailTemplate is a tenant's own version of a mail latch sends. Subject
// and Text are Go text/template, HTML html/template sources over
// MailData; a part left "" keeps the default.
type MailTemplate struct {
	Subject string `json:"subject,omitempty"`
	Text    string `json:"text,omitempty"`
	HTML    string `json:"html,omitempty"`
}

// MailData is what mail templates can use.
type MailData struct {
	TenantName string
	Email      string
	FirstName  string
	LastName   string
	Token      string // the one-time token
	Link       string // the link to follow (reset page or verification); "" when the tenant set no reset page
	ExpiresAt  time.Time
	ValidFor   string // "1 hour", "24 hours"
}

// The default mails. They name no product: the tenant's name says who
// sends them.
var (
	defaultResetMail = MailTemplate{
		Subject: `Reset your {{.TenantName}} password`,
		Text: `Hello{{with .FirstName}} {{.}}{{end}},

someone asked to reset the password of the {{.TenantName}} account {{.Email}}.
{{if .Link}}To choose a new password, open this link within {{.ValidFor}}:

{{.Link}}
{{else}}Your reset code, valid for {{.ValidFor}}:

{{.Token}}
{{end}}
If you did not ask for this, ignore this mail: your password stays as it is.
`,
		HTML: `<p>Hello{{with .FirstName}} {{.}}{{end}},</p>
<p>someone asked to reset the password of the {{.TenantName}} account {{.Email}}.</p>
{{if .Link}}<p>To choose a new password, open this link within {{.ValidFor}}:</p>
<p><a href="{{.Link}}">Choose a new password</a></p>
{{else}}<p>Your reset code, valid for {{.ValidFor}}:</p>
<p><code>{{.Token}}</code></p>
{{end}}<p>If you did not ask for this, ignore this mail: your password stays as it is.</p>
`,
	}
	defaultVerificationMail = MailTemplate{
		Subject: `Confirm your {{.TenantName}} email address`,
		Text: `Hello{{with .FirstName}} {{.}}{{end}},

please confirm that {{.Email}} is your address for {{.TenantName}} by opening this link within {{.ValidFor}}:

{{.Link}}

If you did not sign up, ignore this mail.
`,
		HTML: `<p>Hello{{with .FirstName}} {{.}}{{end}},</p>
<p>please confirm that {{.Email}} is your address for {{.TenantName}} by opening this link within {{.ValidFor}}:</p>
<p><a href="{{.Link}}">Confirm my address</a></p>
<p>If you did not sign up, ignore this mail.</p>
`,
	}
)

// maxTemplate bounds each template a tenant stores.
const maxTemplate = 32 << 10

// sample is what a tenant's templates are tried with when they are saved,
// so that a template that cannot render is refused then, not when a
// user needs the mail.
var sample = MailData{TenantName: "Example", Email: "user@example.com", FirstName: "Ada", LastName: "Lovelace",
	Token: "lpr1_sample", Link: "https://example.com/reset?token=lpr1_sample", ExpiresAt: time.Unix(0, 0).UTC(), ValidFor: "1 hour"}

// render fills the tenant's template (falling back to def part by part).
func (mt *MailTemplate) render(def MailTemplate, d MailData) (subject, text, html string, err error) {
	t := def
	if mt != nil {
		for _, p := range []struct{ own, out *string }{{&mt.Subject, &t.Subject}, {&mt.Text, &t.Text}, {&mt.HTML, &t.HTML}} {
			if *p.own != "" {
				*p.out = *p.own
			}
		}
	}
	exec := func(name, src string, isHTML bool) (string, error) {
		var b strings.Builder
		if isHTML {
			tpl, err := htmltemplate.New(name).Option("missingkey=error").Parse(src)
			if err != nil {
				return "", err
			}
			err = tpl.Execute(&b, d)
			return b.String(), err
		}
		tpl, err := texttemplate.New(name).Option("missingkey=error").Parse(src)
		if err != nil {
			return "", err
		}
		err = tpl.Execute(&b, d)
		return b.String(), err
	}
	if subject, err = exec("subject", t.Subject, false); err != nil {
		return "", "", "", err
	}
	if text, err = exec("text", t.Text, false); err != nil {
		return "", "", "", err
	}
	html, err = exec("html", t.HTML, true)
	// A subject is one header line.
	subject = strings.Join(strings.Fields(subject), " ")
	return subject, text, html, err
}

// check refuses a template that is too long or does not render.
func (mt *MailTemplate) check(field string, def MailTemplate) error {
	if mt == nil {
		return nil
	}
	for _, p := range []string{mt.Subject, mt.Text, mt.HTML} {
		if len(p) > maxTemplate || !utf8.ValidString(p) {
			return Invalid(field, "each part must be valid UTF-8 of at most %d bytes", maxTemplate)
		}
	}
	if _, _, _, err := mt.render(def, sample); err != nil {
		return Invalid(field, "does not render: %v", err)
	}
	return nil
}

// checkMailSettings validates the mail settings of a tenant.
func checkMailSettings(st *TenantSettings) error {
	if st.MailFrom != "" {
		if a, err := mail.ParseAddress(st.MailFrom); err != nil || len(st.MailFrom) > maxText {
			return Invalid("settings.mail_from", "must be an address like \"Example <no-reply@example.com>\"")
		} else {
			st.MailFrom = a.String()
		}
	}
	for field, v := range map[string]string{"settings.password_reset_url": st.PasswordResetURL, "settings.email_verified_url": st.EmailVerifiedURL} {
		if v == "" {
			continue
		}
		u, err := url.Parse(strings.ReplaceAll(v, "{token}", "x"))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(v) > 2048 {
			return Invalid(field, "must be an absolute http or https URL of at most 2048 characters")
		}
	}
	if st.PasswordResetURL != "" && !strings.Contains(st.PasswordResetURL, "{token}") {
		return Invalid("settings.password_reset_url", "must contain {token}, where the reset token goes")
	}
	if err := st.PasswordResetMail.check("settings.password_reset_mail", defaultResetMail); err != nil {
		return err
	}
	return st.VerificationMail.check("settings.verification_mail", defaultVerificationMail)
}
