package httpapi

// The OpenAPI document (/openapi.json) is built here, and kept true by
// two checks: TestOpenAPI (valid OpenAPI 3.1; every served route is
// described, and nothing else), and package openapitest, which checks
// every request and answer of the HTTP test suites (httpapitest's Env,
// the black-box tests in cmd/latch) against it. To describe a new route:
//
//   - Add the operation to paths (admin routes with adminOp, which lists
//     the admin errors; dialect routes in openapi_dialects.go), with each
//     status the handler can answer and its query and path parameters.
//   - Describe bodies from the Go types the handler decodes and encodes,
//     not by hand: input[T](rules, required...) for a request body,
//     output[T](more) for an answer (a component under schemas when it is
//     used twice). Properties come from the type's json tags; rules add
//     what the type cannot say (maxLength, pattern, enum, description;
//     nested with props), and may only name the type's fields. An answer
//     built as a map (listOf, closed(object(...))) is written by hand,
//     closed, so that a key the server adds is caught.
//   - Cross-field rules (one of two fields required) go in an anyOf next
//     to the generated schema (see AccountsV3Login).
//   - Run the route's tests: a request the server accepts that the
//     document rejects, or an answer that is not as documented, fails
//     the test that sent it with "OpenAPI drift: …".

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/latchauth/latch/internal/httpapi/accountsv3"
	"github.com/latchauth/latch/internal/httpapi/appauth"
	"github.com/latchauth/latch/internal/httpapi/tokenlogin"
	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/metrics"
)

type m = map[string]any

func ref(name string) m { return m{"$ref": "#/components/schemas/" + name} }

func str(extra ...any) m {
	s := m{"type": "string"}
	for i := 0; i+1 < len(extra); i += 2 {
		s[extra[i].(string)] = extra[i+1]
	}
	return s
}

func arr(items m) m { return m{"type": "array", "items": items} }

func object(required []string, props m) m {
	o := m{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

var freeObject = m{"type": "object", "additionalProperties": true}

// closed forbids properties besides those s lists: what the server
// writes is exactly what the document says.
func closed(s m) m {
	s["additionalProperties"] = false
	return s
}

// settingsRules are the tenant settings' rules, for both the input and
// the answer.
var settingsRules = props(m{
	"session_lifetime_seconds": m{"minimum": 0}, "session_idle_timeout_seconds": m{"minimum": 0},
	"refresh_grace_seconds": m{"minimum": 0, "maximum": 300},
	"cors_origins": m{"maxItems": 100, "items": m{"description": "A browser origin, like https://app.example.com."},
		"description": "Browser origins allowed to call this tenant's dialect routes, besides LATCH_CORS_ORIGINS."},
	"require_verified_email": m{"description": "Refuse password logins (401 in each dialect's shape) until the email is verified."},
	"mail_from":              m{"description": "Sender of this tenant's mails; default: LATCH_SMTP_URL's from."},
	"password_reset_url":     m{"description": "The application's reset page; {token} is replaced by the token. Empty: the mail carries the token alone."},
	"email_verified_url":     m{"description": "Where GET /auth/v1/{tid}/verify sends the browser (303), with ?status=verified|invalid."},
	"migration": props(m{
		"dialect":  m{"enum": []string{"accounts-v3", "app-auth", "token-login"}, "description": "The hosted API's wire format."},
		"base_url": m{"maxLength": 1024, "description": "The hosted API's base URL, http or https, like https://api.example.com."},
		"api_key": m{"maxLength": 256, "writeOnly": true,
			"description": "token-login: the APIKey header sent upstream. Write-only: sealed at rest, never shown; an update without it keeps the stored key."},
		"api_key_set": m{"readOnly": true, "description": "token-login: whether an API key is stored."},
	}),
})

func jsonBody(schema m) m {
	return m{"required": true, "content": m{"application/json": m{"schema": schema}}}
}

func resp(desc, media string, schema m) m {
	r := m{"description": desc}
	if schema != nil {
		r["content"] = m{media: m{"schema": schema}}
	}
	return r
}

// jsonOrText is a JSON body that may also come as text/plain, as fetch()
// sends a string body.
func jsonOrText(schema m) m {
	return m{"required": true, "content": m{"application/json": m{"schema": schema}, "text/plain": m{"schema": schema}}}
}

// dialectErrors names each dialect's error schema.
var dialectErrors = map[string]string{accountsv3.Dialect: "AccountsV3Error", appauth.Dialect: "AppAuthError", tokenlogin.Dialect: "TokenLoginError"}

// preflight documents a dialect route's CORS preflight.
func preflight(tag string) m {
	h := func(desc string) m { return m{"description": desc, "schema": str()} }
	const noRoute = "A path id that names no route (a dot segment, a NUL), in the route's error shape."
	notFound := problem(noRoute) // latch's own routes
	if schema, isDialect := dialectErrors[tag]; isDialect {
		notFound = ok(noRoute, ref(schema))
	}
	return m{"tags": []string{tag}, "summary": "CORS preflight",
		"description": "Answers 204. For an origin in LATCH_CORS_ORIGINS or in some tenant's cors_origins, with the CORS headers; otherwise without them.",
		"parameters":  []m{{"name": "Origin", "in": "header", "schema": str()}, {"name": "Access-Control-Request-Method", "in": "header", "schema": str()}},
		"responses": m{"204": m{"description": "Preflight answered.", "headers": m{
			"Access-Control-Allow-Origin":  h("The request's origin, when allowed (never *)."),
			"Access-Control-Allow-Methods": h("POST."), "Access-Control-Allow-Headers": h("Content-Type, Authorization, APIKey, APIToken."),
			"Access-Control-Max-Age": h("Seconds a browser may reuse the answer."), "Vary": h("Origin."),
		}}, "404": notFound}}
}

func problem(desc string) m { return resp(desc, "application/problem+json", ref("Problem")) }

func v3err(desc string) m { return resp(desc, "application/json", ref("AccountsV3Error")) }

// adminOp describes an admin operation; every admin route shares auth and errors.
func adminOp(summary string, body m, okStatus string, ok m) m {
	op := m{"tags": []string{"admin"}, "summary": summary, "security": []m{{"adminToken": []string{}}},
		"responses": m{okStatus: ok, "400": problem("Invalid input (including a NUL character or invalid UTF-8 in any string); `errors` names the fields."),
			"401": problem("Missing or wrong admin token."), "404": problem("Not found, or a path id that is not a UUID."), "409": problem("Conflict."),
			"413": problem("Body too large."), "415": problem("Unsupported Content-Type."), "500": problem("Internal error."),
			"503": problem("Database unavailable, or (the webhook test) delivery not running; see Retry-After.")}}
	if body != nil {
		op["requestBody"] = jsonBody(body)
	}
	return op
}

func ok(desc string, schema m) m { return resp(desc, "application/json", schema) }

// listOf is a page of a list (paged).
func listOf(key string, item m) m {
	return closed(object([]string{key, "next_cursor"}, m{key: arr(item), "next_cursor": str()}))
}

var pageParams = []m{
	{"name": "limit", "in": "query", "schema": m{"type": "integer", "minimum": 1, "maximum": 500}},
	{"name": "cursor", "in": "query", "schema": str()},
}

func withParams(op m, params ...m) m {
	op["parameters"] = params
	return op
}

func pathParam(name string) m {
	return m{"name": name, "in": "path", "required": true, "schema": str("format", "uuid")}
}

// accountOp describes an account route: public, rate limited per address,
// errors as problem documents.
func accountOp(summary, desc string, body m, okStatus string, okResp m) m {
	return m{"post": m{"tags": []string{"accounts"}, "summary": summary, "description": desc,
		"parameters": []m{pathParam("tid")}, "requestBody": body,
		"responses": m{okStatus: okResp, "400": problem("Invalid input, or (reset) code token_invalid; `errors` names the field."),
			"404": problem("Unknown tenant."), "415": problem("Unsupported Content-Type."),
			"429": problem("Rate limited (per address, and for mails per address asked for); see Retry-After."),
			"503": problem("Overloaded; see Retry-After.")}}}
}

// openAPIDocument builds the OpenAPI 3.1 description of every route.
func openAPIDocument(version string) m {
	noContent := m{"description": "Done."}
	tokens := ok("Tokens.", ref("AccountsV3Tokens"))
	paths := m{
		"/v3/accounts/login": m{"post": m{
			"tags": []string{"accounts-v3"}, "summary": "Log into the account",
			"parameters":  []m{{"name": "origin", "in": "header", "schema": str()}, {"name": "user-Agent", "in": "header", "schema": str()}},
			"requestBody": jsonOrText(ref("AccountsV3Login")),
			"responses": m{"200": tokens, "400": v3err("Validation failed; `errors` names each field."),
				"401": v3err("Wrong credentials or second factor."), "405": v3err("Method not allowed; see Allow."),
				"415": v3err("Unsupported Content-Type."), "429": v3err("Rate limited; see Retry-After."),
				"500": v3err("Internal error."), "503": v3err("Database unavailable or overloaded; see Retry-After.")},
		}},
		"/v3/accounts/login-refresh-token": m{"post": m{
			"tags": []string{"accounts-v3"}, "summary": "Log into the account using refresh token",
			"parameters":  []m{{"name": "user-Agent", "in": "header", "schema": str()}},
			"requestBody": jsonOrText(ref("AccountsV3Refresh")),
			"responses": m{"200": tokens,
				"400": v3err("Validation failed, or INVALID_REFRESH_TOKEN: the refresh token is malformed, forged, expired, revoked or unknown."),
				"405": v3err("Method not allowed; see Allow."), "409": v3err("Refresh token reused; the session was revoked."),
				"415": v3err("Unsupported Content-Type."), "429": v3err("Rate limited."), "500": v3err("Internal error."),
				"503": v3err("Database unavailable or overloaded; see Retry-After.")},
		}},
		"/auth/v1/{tid}/password/forgot": accountOp("Ask for a password reset mail",
			"Always 202 with the same body, whether or not an active user has the address (no enumeration). When one has, a one-time "+
				"reset token (1 h) is mailed (LATCH_SMTP_URL) and user.password-reset-requested is recorded; its webhook delivery carries the token.",
			jsonOrText(ref("MailRequest")), "202", ok("Accepted.", ref("MailRequested"))),
		"/auth/v1/{tid}/password/reset": accountOp("Set a new password with a reset token",
			"Sets the password (the admin API's rules: 8 to 256 bytes), ends every session and re-authentication token of the user, "+
				"spends the token and records password.reset. A used, expired, retired or forged token is 400 with code token_invalid, field token.",
			jsonOrText(ref("PasswordReset")), "204", m{"description": "Password set."}),
		"/auth/v1/{tid}/verify/send": accountOp("Ask for an email verification mail",
			"Always 202 with the same body. When an active user with an unverified email has the address, a verification link (24 h) "+
				"is mailed and user.email-verification-requested is recorded; its webhook delivery carries the token.",
			jsonOrText(ref("MailRequest")), "202", ok("Accepted.", ref("MailRequested"))),
		"/auth/v1/{tid}/verify": m{"get": m{"tags": []string{"accounts"}, "summary": "Follow an email verification link",
			"description": "Marks the email verified and records user.email-verified. With the tenant's email_verified_url set, answers 303 to it " +
				"with ?status=verified or ?status=invalid; without, a short HTML page to a browser (Accept: text/html; 200, or 400 for an " +
				"unusable link), else JSON: 200 {\"status\": \"verified\"} or a 400 problem with code token_invalid.",
			"parameters": []m{pathParam("tid"), {"name": "token", "in": "query", "required": true, "schema": str()}},
			"responses": m{"303": m{"description": "To the tenant's email_verified_url."},
				"200": m{"description": "Verified.", "content": m{"text/html": m{"schema": str()},
					"application/json": m{"schema": object([]string{"status"}, m{"status": str("enum", []string{"verified"})})}}},
				"400": m{"description": "The link is invalid, expired or used (problem code token_invalid; an HTML page for a browser).",
					"content": m{"text/html": m{"schema": str()}, "application/problem+json": m{"schema": ref("Problem")}}},
				"404": problem("Unknown tenant."),
				"429": problem("Rate limited; see Retry-After.")}}},
		"/healthz": m{"get": m{"tags": []string{"operations"}, "summary": "Process is up", "responses": m{"200": ok("Up.", freeObject)}}},
		"/readyz": m{"get": m{"tags": []string{"operations"}, "summary": "Store is reachable",
			"responses": m{"200": ok("Ready.", freeObject), "503": ok("Store unreachable.", freeObject)}}},
		"/metrics": m{"get": m{"tags": []string{"operations"}, "summary": "Prometheus metrics",
			"responses": m{"200": resp("Text exposition format.", "text/plain", str())}}},
		"/.well-known/jwks.json": m{"get": m{"tags": []string{"operations"}, "summary": "Access-token public keys (RFC 7517)",
			"responses": m{"200": resp("Key set.", "application/jwk-set+json", ref("JWKS")), "304": m{"description": "Not modified."}}}},
		"/openapi.json": m{"get": m{"tags": []string{"operations"}, "summary": "This document",
			"responses": m{"200": ok("OpenAPI 3.1.", freeObject)}}},

		"/admin/v1/tenants": m{
			"post": adminOp("Create a tenant", ref("TenantInput"), "201", ok("Created.", ref("Tenant"))),
			"get":  withParams(adminOp("List tenants", nil, "200", ok("Tenants.", listOf("tenants", ref("Tenant")))), pageParams...),
		},
		"/admin/v1/tenants/{tid}": m{
			"parameters": []m{pathParam("tid")},
			"get":        adminOp("Get a tenant", nil, "200", ok("Tenant.", ref("Tenant"))),
			"patch":      adminOp("Update a tenant", ref("TenantInput"), "200", ok("Tenant.", ref("Tenant"))),
			"delete":     adminOp("Delete a tenant and everything it owns", nil, "204", noContent),
		},
		"/admin/v1/tenants/{tid}/api-keys": m{
			"parameters": []m{pathParam("tid")},
			"post": adminOp("Create an API key (shown once)", input[apiKeyInput](props(m{"name": str("maxLength", 256)}), "name"),
				"201", ok("Created; `key` is never shown again.", ref("APIKey"))),
			"get": adminOp("List API keys", nil, "200", ok("Keys.", closed(object([]string{"api_keys"}, m{"api_keys": arr(ref("APIKey"))})))),
		},
		"/admin/v1/tenants/{tid}/api-keys/{kid}": m{
			"parameters": []m{pathParam("tid"), pathParam("kid")},
			"delete":     adminOp("Revoke an API key", nil, "204", noContent),
		},
		"/admin/v1/tenants/{tid}/users": m{
			"parameters": []m{pathParam("tid")},
			"post":       adminOp("Create a user", ref("UserInput"), "201", ok("Created.", ref("User"))),
			"get": withParams(adminOp("List users", nil, "200", ok("Users.", listOf("users", ref("User")))),
				append([]m{{"name": "email", "in": "query", "schema": str()},
					{"name": "username", "in": "query", "schema": str(), "description": "exact match, case-insensitive"}}, pageParams...)...),
		},
		"/admin/v1/tenants/{tid}/users/{uid}": m{
			"parameters": []m{pathParam("tid"), pathParam("uid")},
			"get":        adminOp("Get a user", nil, "200", ok("User.", ref("User"))),
			"patch":      adminOp("Update a user (a new password or disabling revokes sessions)", ref("UserInput"), "200", ok("User.", ref("User"))),
			"delete":     adminOp("Delete a user", nil, "204", noContent),
		},
		"/admin/v1/tenants/{tid}/users/{uid}/sessions": m{
			"parameters": []m{pathParam("tid"), pathParam("uid")},
			"get":        withParams(adminOp("List a user's sessions, newest first", nil, "200", ok("Sessions.", listOf("sessions", ref("Session")))), pageParams...),
			"delete":     adminOp("Revoke all of a user's sessions", nil, "200", ok("Count.", closed(object([]string{"revoked"}, m{"revoked": m{"type": "integer"}})))),
		},
		"/admin/v1/tenants/{tid}/users/{uid}/sessions/{sid}": m{
			"parameters": []m{pathParam("tid"), pathParam("uid"), pathParam("sid")},
			"delete": adminOp("Revoke one of the user's sessions (session.revoked; revoking a revoked one changes nothing); "+
				"another user's session id is 404", nil, "204", noContent),
		},
		"/admin/v1/tenants/{tid}/users/{uid}/throttle": m{
			"parameters": []m{pathParam("tid"), pathParam("uid")},
			"delete": adminOp("Lift the user's login throttling: failure delays from every address, the account's failure ceiling, second-factor attempts",
				nil, "204", noContent),
		},
		"/admin/v1/tenants/{tid}/users/{uid}/password-reset-token": m{
			"parameters": []m{pathParam("tid"), pathParam("uid")},
			"post": adminOp("Issue a one-time password reset token (1 h) for the application to hand to the user; latch mails nothing. "+
				"It retires the user's older reset tokens; any password change retires it.", nil, "201", ok("The token, shown once.", ref("AccountToken"))),
		},
		"/admin/v1/tenants/{tid}/users/{uid}/email-verification-token": m{
			"parameters": []m{pathParam("tid"), pathParam("uid")},
			"post": adminOp("Issue a one-time email verification token (24 h) for the user's current address; latch mails nothing. "+
				"The user follows GET /auth/v1/{tid}/verify?token=….", nil, "201", ok("The token, shown once.", ref("AccountToken"))),
		},
		"/admin/v1/tenants/{tid}/users/{uid}/totp": m{
			"parameters": []m{pathParam("tid"), pathParam("uid")},
			"get":        adminOp("Two-factor status of a user", nil, "200", ok("Enrolment.", ref("TOTPStatus"))),
			"post": adminOp("Begin TOTP enrolment (pending until confirmed; restarting replaces a pending secret)", nil, "200",
				ok("Secret for the authenticator app.", ref("TOTPEnrolment"))),
			"delete": adminOp("Turn two-factor off", nil, "204", noContent),
		},
		"/admin/v1/tenants/{tid}/users/{uid}/totp/confirm": m{
			"parameters": []m{pathParam("tid"), pathParam("uid")},
			"post": adminOp("Confirm enrolment with a code; two-factor is on afterwards",
				input[totpConfirmInput](props(m{"code": str("pattern", "^[0-9]{6}$")}), "code"), "200", ok("Recovery codes, shown once.", ref("RecoveryCodes"))),
		},
		"/admin/v1/tenants/{tid}/users/{uid}/totp/recovery-codes": m{
			"parameters": []m{pathParam("tid"), pathParam("uid")},
			"post":       adminOp("Replace the recovery codes", nil, "200", ok("Recovery codes, shown once.", ref("RecoveryCodes"))),
		},
		"/admin/v1/tenants/{tid}/organisations": m{
			"parameters": []m{pathParam("tid")},
			"post":       adminOp("Create an organisation", ref("OrganisationInput"), "201", ok("Created.", ref("Organisation"))),
			"get":        withParams(adminOp("List organisations", nil, "200", ok("Organisations.", listOf("organisations", ref("Organisation")))), pageParams...),
		},
		"/admin/v1/tenants/{tid}/organisations/{oid}": m{
			"parameters": []m{pathParam("tid"), pathParam("oid")},
			"get":        adminOp("Get an organisation", nil, "200", ok("Organisation.", ref("Organisation"))),
			"patch":      adminOp("Update an organisation", ref("OrganisationInput"), "200", ok("Organisation.", ref("Organisation"))),
			"delete":     adminOp("Delete an organisation", nil, "204", noContent),
		},
		"/admin/v1/tenants/{tid}/events": m{
			"parameters": []m{pathParam("tid")},
			"get": withParams(adminOp("Audit log, newest first", nil, "200", ok("Events.", listOf("events", ref("Event")))),
				append([]m{{"name": "type", "in": "query", "schema": str(), "description": "an account event (account.logged-in, " +
					"account.login-failed, account.refresh-token-reused, account.locked, account.logged-out, user.migrated, user.password-reset-requested, user.email-verification-requested, user.email-verified), a lifecycle event (user.created, " +
					"user.updated, user.deleted, password.changed, password.reset, mfa.enabled, mfa.disabled, session.revoked) or an admin write " +
					"(admin.<resource>.<action>, e.g. admin.user.updated, admin.sessions.revoked; from the console also " +
					"admin.session.revoked and admin.delivery.redelivered)"},
					{"name": "user_id", "in": "query", "schema": str()}}, pageParams...)...),
		},
	}
	schemas := m{
		// Either accountId or accountAlias names the account: the login
		// validation asks for one of them, non-empty.
		"AccountsV3Login": with(input[accountsv3.LoginRequest](props(m{
			"accountId":    str("maxLength", 36, "description", "The account (tenant) id, a UUID; may be empty or absent when accountAlias is given."),
			"accountAlias": str("maxLength", 256, "description", "The account's alias, used when accountId is empty or absent."),
			"email":        str("minLength", 1, "maxLength", 256, "format", "email"), "password": str("minLength", 8, "maxLength", 256),
			"twoFactorCode": str("pattern", "^[0-9]{6}$"), "twoFactorRecoveryCode": str("minLength", 1, "maxLength", 256),
		}), "email", "password"), m{"anyOf": []m{
			{"required": []string{"accountId"}, "properties": m{"accountId": str("minLength", 1)}},
			{"required": []string{"accountAlias"}, "properties": m{"accountAlias": str("minLength", 1)}},
		}}),
		"AccountsV3Refresh": input[accountsv3.RefreshRequest](props(m{"refreshToken": str("minLength", 1, "maxLength", 256)}), "refreshToken"),
		"AccountsV3Tokens":  output[accountsv3.TokenResponse](nil),
		"AccountsV3Error":   output[accountsv3.ErrorResponse](nil),
		"Problem":           output[wire.Problem](nil),
		"JWKS": object([]string{"keys"}, m{"keys": arr(object([]string{"kty", "kid"}, m{"kty": str(), "use": str(), "alg": str(),
			"kid": str(), "crv": str(), "x": str(), "y": str(), "n": str(), "e": str()}))}),
		"TenantInput": input[identity.TenantInput](props(m{"name": str("maxLength", 256), "alias": str("maxLength", 256),
			"settings": settingsRules})),
		"Tenant": output[tenantJSON](props(m{"settings": settingsRules})),
		"APIKey": output[apiKeyJSON](props(m{"key": m{"description": "The key itself: only in the answer that creates it."}})),
		"UserInput": input[identity.UserInput](props(m{"email": str("format", "email", "maxLength", 256),
			"username": str("maxLength", 256, "pattern", `^\s*[^@\s]*\s*$`, "description", "optional login name, unique per tenant (case-insensitive; surrounding spaces are trimmed); \"\" clears it"),
			"password": str("minLength", 8, "maxLength", 256), "password_hash": str("maxLength", 1024, "description", "an existing hash to import instead of password: argon2id/argon2i PHC, bcrypt $2a$/$2b$/$2y$, $scrypt$, $firescrypt$, PBKDF2 (pbkdf2_sha256$…, $pbkdf2-sha256$…), {SSHA}/{SSHA256}/{SSHA512}; within the cost caps (bcrypt ≤ 14; argon2 m ≤ 262144 KiB, t ≤ 10, p ≤ 16; scrypt N·r·128 ≤ 128 MiB; PBKDF2 ≤ 5,000,000 iterations)"),
			"first_name": str("maxLength", 256), "last_name": str("maxLength", 256), "role": str("maxLength", 256),
			"status": str("enum", []string{"active", "disabled"}),
		})),
		"User":              output[userJSON](nil),
		"OrganisationInput": input[identity.OrganisationInput](props(m{"name": str("maxLength", 256), "description": str("maxLength", 256)})),
		"Organisation":      output[orgJSON](nil),
		"Session":           output[sessionJSON](nil),
		"TOTPEnrolment":     output[totpEnrolmentJSON](props(m{"qr_png": m{"contentEncoding": "base64", "contentMediaType": "image/png"}})),
		"TOTPStatus":        output[totpStatusJSON](props(m{"status": m{"enum": []string{"pending", "enabled"}}})),
		"RecoveryCodes":     closed(object([]string{"recovery_codes"}, m{"recovery_codes": arr(str())})),
		"Event":             output[eventJSON](nil),
		"AccountToken":      output[accountTokenJSON](nil),
		"MailRequest":       object([]string{"email"}, m{"email": str("format", "email", "maxLength", 256)}),
		"MailRequested":     closed(object([]string{"message"}, m{"message": str()})),
		"PasswordReset":     object([]string{"token", "password"}, m{"token": str("maxLength", 128), "password": str("minLength", 8, "maxLength", 256)}),
	}
	dp, ds := dialectPaths()
	sp, ss := selfServicePaths()
	for k, v := range dp {
		paths[k] = v
	}
	for k, v := range sp {
		paths[k] = v
	}
	for k, v := range ss {
		schemas[k] = v
	}
	for _, rt := range dialectRoutes(Deps{Metrics: metrics.New()}) {
		paths[rt.Path()].(m)["options"] = preflight(rt.Edge.Dialect)
	}
	for k, v := range ds {
		schemas[k] = v
	}
	return m{
		"openapi": "3.1.0",
		"info": m{"title": "latch", "version": version,
			"description": "Self-hostable authentication server: identity core behind wire-compatible login dialects. " +
				"A path no route serves answers 404 (405 with Allow when another method is served) in the error shape of the dialect " +
				"whose prefix it is under (/v3/: accounts-v3; /api/v1/Authentication/: token-login; other /api/: app-auth), " +
				"elsewhere as application/problem+json. Paths with dot segments or empty segments are 404, never redirected. " +
				"The operator console, HTML pages under /console/ signed in to with the admin token (POST /console/login, form field token), " +
				"is served when LATCH_ADMIN_TOKEN is set and is not part of this API; its actions are the admin writes below, " +
				"audited with data.via = \"console\"."},
		"paths": paths,
		"components": m{"schemas": schemas, "securitySchemes": m{"adminToken": m{"type": "http", "scheme": "bearer",
			"description": "LATCH_ADMIN_TOKEN"},
			"accessToken": m{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
				"description": "The user's own access token, from a login in any dialect; its session must still be live."}}},
	}
}

var (
	openAPIOnce sync.Once
	openAPIJSON []byte
)

// OpenAPI returns the document as JSON.
func OpenAPI(version string) []byte {
	openAPIOnce.Do(func() {
		openAPIJSON, _ = json.MarshalIndent(openAPIDocument(version), "", "  ")
	})
	return openAPIJSON
}

func handleOpenAPI(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(OpenAPI(d.Version))
	})
}
