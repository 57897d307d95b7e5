package httpapi

import (
	"github.com/latchauth/latch/internal/httpapi/appauth"
	"github.com/latchauth/latch/internal/httpapi/tokenlogin"
	"github.com/latchauth/latch/internal/identity"
)

// tlObject is a token-login body. It has no Go type (the dialect reads
// names case-insensitively, from JSON or a form), so its properties are
// written here, each nullable (null reads as absent), and what is
// required is said in words: a schema cannot require a name in any case.
func tlObject(required string, properties m) m {
	for _, p := range properties {
		p := p.(m)
		switch t := p["type"].(type) {
		case string: // null reads as absent
			p["type"] = []string{t, "null"}
		case []string:
			p["type"] = append(t, "null")
		}
	}
	return m{"type": "object", "description": "Names match case-insensitively. " + required, "properties": properties}
}

// dialectPaths documents the app-auth and token-login routes.
func dialectPaths() (paths, schemas m) {
	appErr := func(desc string) m { return ok(desc, ref("AppAuthError")) }
	appID := m{"name": "app_id", "in": "path", "required": true, "description": "The tenant's id.", "schema": str("format", "uuid")}
	appOp := func(summary string, body m, okResp m) m {
		return m{"post": m{"tags": []string{"app-auth"}, "summary": summary, "parameters": []m{appID},
			"requestBody": jsonOrText(body), "responses": m{"200": okResp, "204": m{"description": "Logged out."},
				"400": appErr("Malformed app_id, body or field; `error.field` names it."), "405": appErr("Method not allowed; see Allow."),
				"415": appErr("Unsupported Content-Type."),
				"401": appErr("Wrong credentials, or invalid, expired or revoked refresh token."),
				"404": appErr("Unknown app_id."), "409": appErr("Refresh token reused; the session was revoked."),
				"429": appErr("Rate limited; see Retry-After."), "500": appErr("Internal error."), "503": appErr("Database unavailable or overloaded; see Retry-After.")}}}
	}
	tokens := ok("Tokens and the user.", ref("AppAuthTokens"))
	refreshBody := input[appauth.TokenRequest](props(m{"refresh_token": str("minLength", 1, "maxLength", 1024)}), "refresh_token")
	paths = m{
		"/api/v1/{app_id}/auth/login": appOp("Log in with email and password",
			input[appauth.LoginRequest](props(m{"email": str("format", "email", "maxLength", 256), "password": str("minLength", 10, "maxLength", 256)}), "email", "password"), tokens),
		"/api/v1/{app_id}/auth/refresh": appOp("Exchange a refresh token (rotated on every use)", refreshBody, tokens),
		"/api/v1/{app_id}/auth/logout":  appOp("Revoke the refresh token's session", refreshBody, m{"description": "Not used; logout answers 204."}),
	}
	tlParams := []m{
		{"name": "fields", "in": "query", "description": "Keep only these top-level properties of the answer: names, comma-separated " +
			"(the parameter may also be repeated), case-insensitive.", "schema": str(), "allowReserved": true},
		{"name": "suppressResponseCodes", "in": "query", "description": "Always answer 200; the body carries the error and its StatusCode.",
			"schema": m{"type": "boolean"}},
		{"name": "APIKey", "in": "query", "description": "The tenant's API key (or the APIKey header).", "schema": str()},
	}
	tlBody := func(schema m) m {
		return m{"required": true, "content": m{"application/json": m{"schema": schema}, "text/json": m{"schema": schema},
			"application/x-www-form-urlencoded": m{"schema": schema}}}
	}
	tlErr := func(desc string) m { return ok(desc, ref("TokenLoginError")) }
	tlResponses := func(okResp m) m {
		return m{"200": okResp, "400": tlErr("Invalid request; ModelState names the fields."), "401": tlErr("Missing or unknown APIKey, wrong credentials or invalid token."),
			"405": tlErr("Method not allowed; see Allow."),
			"415": tlErr("Unsupported Content-Type."), "429": tlErr("Rate limited; see Retry-After."), "500": tlErr("Internal error."),
			"503": tlErr("Database unavailable or overloaded; see Retry-After.")}
	}
	loggedIn := ok("The login (with fields, only the properties named), or with suppressResponseCodes the error, with Authenticated false.",
		m{"anyOf": []m{ref("LoginData"), ref("TokenLoginError")}})
	paths["/api/v1/Authentication/Login"] = m{"post": m{"tags": []string{"token-login"}, "summary": "Log in (route matches case-insensitively)",
		"parameters": tlParams, "requestBody": tlBody(tlObject("userName (or email) and password are required.", m{
			"userName": str("maxLength", 256, "description", "The user's email (or user name)."), "email": str("format", "email"), "password": str("maxLength", 256),
			"generateReAuthenticationToken": m{"type": []string{"boolean", "string"}, "description": "true or false; Json.NET also takes them as strings."},
			"deviceName":                    str("maxLength", 256)})),
		"responses": tlResponses(loggedIn)}}
	paths["/api/v1/Authentication/TokenLogin"] = m{"post": m{"tags": []string{"token-login"}, "summary": "Log in again with a re-authentication token",
		"parameters": tlParams, "requestBody": tlBody(tlObject("reAuthenticationToken is required.", m{"reAuthenticationToken": str("maxLength", 1024)})),
		"responses": tlResponses(loggedIn)}}
	paths["/api/v1/Authentication/Logout"] = m{"post": m{"tags": []string{"token-login"}, "summary": "End the session and revoke its device's re-authentication token",
		"parameters": append(tlParams, m{"name": "APIToken", "in": "query", "description": "The SessionToken (or the APIToken header).", "schema": str()}),
		"responses":  tlResponses(ok("Logged out (no body), or with suppressResponseCodes the error.", ref("TokenLoginError")))}}
	wid := []m{pathParam("tid"), pathParam("wid")}
	paths["/admin/v1/tenants/{tid}/webhooks"] = m{
		"parameters": []m{pathParam("tid")},
		"post": adminOp("Register a webhook endpoint; the secret is shown once", ref("WebhookInput"), "201",
			ok("The endpoint with its secret.", ref("Webhook"))),
		"get": adminOp("List webhook endpoints", nil, "200", ok("Endpoints.", closed(object([]string{"webhooks"},
			m{"webhooks": arr(ref("Webhook"))})))),
	}
	paths["/admin/v1/tenants/{tid}/webhooks/{wid}"] = m{
		"parameters": wid,
		"get":        adminOp("Get a webhook endpoint", nil, "200", ok("Endpoint.", ref("Webhook"))),
		"patch": adminOp("Change an endpoint; status \"healthy\" re-enables a suspended one", ref("WebhookInput"), "200",
			ok("Endpoint.", ref("Webhook"))),
		"delete": adminOp("Delete an endpoint and its deliveries", nil, "204", m{"description": "Done."}),
	}
	paths["/admin/v1/tenants/{tid}/webhooks/{wid}/deliveries"] = m{
		"parameters": wid,
		"get": withParams(adminOp("Deliveries to an endpoint, newest first: every event of its types since it was created, pending, delivered or failed; attempts are logged for every failure and a sample of successes (a delivered event without a logged attempt has attempts 1 and an empty log)", nil, "200",
			ok("Deliveries.", listOf("deliveries", output[deliveryJSON](nil)))), pageParams...),
	}
	paths["/admin/v1/tenants/{tid}/webhooks/{wid}/test"] = m{
		"parameters": wid,
		"post": adminOp("Send a signed ping event to the endpoint now and show its answer", nil, "200",
			ok("The attempt.", output[attemptJSON](nil))),
	}
	// With fields, any property may be left out: none is required.
	loginData := output[tokenlogin.LoginData](nil)
	delete(loginData, "required")
	schemas = m{
		"WebhookInput": input[identity.WebhookInput](props(m{"url": str("format", "uri", "maxLength", 2048),
			"events":  m{"items": m{"enum": identity.EventTypes}},
			"signing": str("enum", []string{"standard-webhooks", "accounts-v3"}), "status": str("enum", []string{"healthy"})})),
		"Webhook": output[webhookJSON](props(m{"secret": m{"description": "The signing secret: only in the answer that creates the endpoint."},
			"failing_since": m{"description": "The first failure since the last success (null while healthy); the endpoint is suspended when it is older than LATCH_WEBHOOK_SUSPEND_AFTER."},
			"retry_at":      m{"description": "When a failing endpoint's new events are tried again."}})),
		"AppAuthTokens":   output[appauth.TokenResponse](nil),
		"AppAuthError":    output[appauth.ErrorResponse](nil),
		"LoginData":       loginData,
		"TokenLoginError": output[tokenlogin.ErrorResponse](nil),
	}
	return paths, schemas
}
