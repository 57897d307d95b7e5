package accountsv3

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/token"
)

// LoginRequest is the body of POST /v3/accounts/login. Pointers tell an
// absent field from an empty one.
type LoginRequest struct {
	AccountID             *string `json:"accountId"`
	AccountAlias          *string `json:"accountAlias"`
	Email                 *string `json:"email"`
	Password              *string `json:"password"`
	TwoFactorCode         *string `json:"twoFactorCode"`
	TwoFactorRecoveryCode *string `json:"twoFactorRecoveryCode"`
}

// RefreshRequest is the body of POST /v3/accounts/login-refresh-token.
type RefreshRequest struct {
	RefreshToken *string `json:"refreshToken"`
}

// TokenResponse is the 200 answer of both routes.
type TokenResponse struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

// Field error codes.
const (
	codeRequired = "REQUIRED"
	codeTooShort = "TOO_SHORT"
	codeTooLong  = "TOO_LONG"
	codeFormat   = "INVALID_FORMAT"
	codeType     = "INVALID_TYPE"
)

// FieldError is one entry of a 400's "errors".
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// length checks a string field against the reference's min/max, counted
// in characters.
func length(errs []FieldError, field string, v *string, required bool, lo, hi int) []FieldError {
	if v == nil {
		if required {
			return append(errs, FieldError{field, codeRequired, field + " is required"})
		}
		return errs
	}
	n := utf8.RuneCountInString(*v)
	switch {
	case n < lo && required && n == 0:
		return append(errs, FieldError{field, codeRequired, field + " is required"})
	case n < lo:
		return append(errs, FieldError{field, codeTooShort, field + " must be at least " + strconv.Itoa(lo) + " characters"})
	case n > hi:
		return append(errs, FieldError{field, codeTooLong, field + " must be at most " + strconv.Itoa(hi) + " characters"})
	case strings.ContainsRune(*v, 0):
		// No store keeps a NUL in text, and no real value holds one.
		return append(errs, FieldError{field, codeFormat, field + " must not contain NUL characters"})
	}
	return errs
}

// Validate returns one FieldError per field that breaks the reference's
// constraints.
func (r *LoginRequest) Validate() []FieldError {
	var errs []FieldError
	errs = length(errs, "accountId", r.AccountID, false, 0, 36)
	idOK := len(errs) == 0
	errs = length(errs, "accountAlias", r.AccountAlias, false, 0, 256)
	if idOK && r.AccountID != nil && *r.AccountID != "" {
		if _, err := uuid.Parse(*r.AccountID); err != nil {
			errs = append(errs, FieldError{"accountId", codeFormat, "accountId must be an account id (UUID)"})
		}
	}
	if deref(r.AccountID) == "" && deref(r.AccountAlias) == "" {
		errs = append(errs, FieldError{"accountId", codeRequired, "accountId is required (or accountAlias when accountId is empty)"})
	}
	n := len(errs)
	errs = length(errs, "email", r.Email, true, 1, 256)
	if len(errs) == n && !identity.ValidEmail(strings.TrimSpace(*r.Email)) {
		errs = append(errs, FieldError{"email", codeFormat, "email must be an email address"})
	}
	n = len(errs)
	errs = length(errs, "password", r.Password, true, 8, 256)
	if len(errs) == n {
		if _, err := password.Normalize(*r.Password); err != nil {
			errs = append(errs, FieldError{"password", codeTooLong, "password must be at most 256 bytes"})
		}
	}
	if r.TwoFactorCode != nil {
		if !sixDigits(*r.TwoFactorCode) {
			errs = append(errs, FieldError{"twoFactorCode", codeFormat, "twoFactorCode must be exactly 6 digits"})
		}
	}
	errs = length(errs, "twoFactorRecoveryCode", r.TwoFactorRecoveryCode, false, 1, 256)
	return errs
}

// Validate checks the refresh body.
func (r *RefreshRequest) Validate() []FieldError {
	return length(nil, "refreshToken", r.RefreshToken, true, 1, 256)
}

func sixDigits(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// validator is a request body that checks the reference's constraints.
type validator interface{ Validate() []FieldError }

// decodeValid answers the error of decoding r's body into v (err), or
// else validates v. On failure it answers, counts an invalid_request with
// count, and returns false.
func decodeValid(w http.ResponseWriter, r *http.Request, e *wire.Edge, err error, v validator, count func(dialect, outcome string)) bool {
	if err != nil {
		count(Dialect, "invalid_request")
		e.Fail(w, r, err)
		return false
	}
	if errs := v.Validate(); len(errs) > 0 {
		count(Dialect, "invalid_request")
		writeValidation(w, errs)
		return false
	}
	return true
}

// accountID returns a valid accountId in the canonical (lower-case,
// hyphenated) form tenant ids are stored in, so that it compares
// case-insensitively.
func accountID(s string) string {
	if id, err := uuid.Parse(s); err == nil {
		return id.String()
	}
	return s
}

func handleLogin(e *wire.Edge, d wire.Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req LoginRequest
		if !decodeValid(w, r, e, wire.DecodeJSON(r, &req, wire.TextPlain), &req, d.Metrics.Login) {
			return
		}
		id := accountID(deref(req.AccountID))
		wire.ForTenantNamed(r, id, deref(req.AccountAlias))
		res, err := d.Auth.Login(r.Context(), identity.LoginRequest{
			TenantID: id, TenantAlias: deref(req.AccountAlias),
			Email: *req.Email, Password: *req.Password,
			TwoFactorCode: deref(req.TwoFactorCode), TwoFactorRecoveryCode: deref(req.TwoFactorRecoveryCode),
			Client: wire.ClientOf(r),
		})
		if e.Refused(w, r, err, d.Metrics.Login) {
			return
		}
		wire.ForTenant(r, res.Tenant)
		d.Metrics.Login(Dialect, "success")
		writeTokens(w, TokenResponse{AccessToken: res.AccessToken, RefreshToken: res.RefreshToken})
	})
}

func handleRefresh(e *wire.Edge, d wire.Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req RefreshRequest
		if !decodeValid(w, r, e, decodeRefresh(r, &req), &req, d.Metrics.Refresh) {
			return
		}
		res, err := d.Auth.Refresh(r.Context(), *req.RefreshToken, wire.ClientOf(r))
		if e.Refused(w, r, err, d.Metrics.Refresh) {
			return
		}
		wire.ForTenant(r, res.Tenant)
		d.Metrics.Refresh(Dialect, wire.RefreshOutcome(res))
		writeTokens(w, TokenResponse{AccessToken: res.AccessToken, RefreshToken: res.RefreshToken})
	})
}

// writeTokens answers 200 with t, in the bytes wire.WriteJSON writes, but
// without reflection: tokens are base64url and dots (JWT and latch's
// opaque tokens), which JSON quotes as they are; anything else goes
// through WriteJSON.
func writeTokens(w http.ResponseWriter, t TokenResponse) {
	if !token.Alphabet(t.AccessToken) || !token.Alphabet(t.RefreshToken) {
		wire.WriteJSON(w, http.StatusOK, t)
		return
	}
	b := make([]byte, 0, len(t.AccessToken)+len(t.RefreshToken)+40)
	b = append(b, `{"accessToken":"`...)
	b = append(b, t.AccessToken...)
	b = append(b, `","refreshToken":"`...)
	b = append(b, t.RefreshToken...)
	b = append(b, "\"}\n"...)
	wire.WriteEncoded(w, http.StatusOK, b)
}

// decodeRefresh is wire.DecodeJSON for the refresh body, which nearly
// every client sends as {"refreshToken":"<token>"}: that exact text is
// read without a JSON decoder (a token's characters need no escaping, so
// it is what the decoder would find); any other body, and every refusal,
// is DecodeJSON's.
func decodeRefresh(r *http.Request, req *RefreshRequest) error {
	if err := wire.CheckMediaType(r, wire.TextPlain); err != nil {
		return err
	}
	b, err := wire.ReadBody(r)
	if err != nil {
		return err
	}
	const head, tail = `{"refreshToken":"`, `"}`
	if len(b) >= len(head)+len(tail) && string(b[:len(head)]) == head && string(b[len(b)-len(tail):]) == tail {
		if tok := string(b[len(head) : len(b)-len(tail)]); token.Alphabet(tok) {
			req.RefreshToken = &tok
			return nil
		}
	}
	return wire.Unmarshal(b, req)
}
