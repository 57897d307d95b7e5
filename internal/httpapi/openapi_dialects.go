package httpapi

import (
	"reflect"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/httpapi/appauth"
	"github.com/latchauth/latch/internal/httpapi/tokenlogin"
	"github.com/latchauth/latch/internal/identity"
)

// schemaOf describes a response type from its Go declaration, so that the
// document cannot drift from what the dialects render: every field is
// required, as the dialects always write every key.
func schemaOf(t reflect.Type) m {
	switch t {
	case reflect.TypeFor[time.Time]():
		return tsSchema
	case reflect.TypeFor[*time.Time]():
		return nullableTime
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.String:
		return str()
	case reflect.Bool:
		return m{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return m{"type": "integer"}
	case reflect.Slice:
		return arr(schemaOf(t.Elem()))
	case reflect.Map:
		return freeObject
	case reflect.Struct:
		props, req := m{}, []string{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			props[name] = schemaOf(f.Type)
			if !strings.Contains(opts, "omitempty") {
				req = append(req, name)
			}
		}
		return object(req, props)
	}
	return m{}
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
	refreshBody := object([]string{"refresh_token"}, m{"refresh_token": str("minLength", 1, "maxLength", 1024)})
	paths = m{
		"/api/v1/{app_id}/auth/login": appOp("Log in with email and password",
			object([]string{"email", "password"}, m{"email": str("format", "email", "maxLength", 256), "password": str("minLength", 10, "maxLength", 256)}), tokens),
		"/api/v1/{app_id}/auth/refresh": appOp("Exchange a refresh token (rotated on every use)", refreshBody, tokens),
		"/api/v1/{app_id}/auth/logout":  appOp("Revoke the refresh token's session", refreshBody, m{"description": "Not used; logout answers 204."}),
	}
	tlParams := []m{
		{"name": "fields", "in": "query", "description": "Keep only these top-level properties (repeated or comma-separated, case-insensitive).",
			"schema": arr(str()), "style": "form", "explode": true},
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
	loginData := ok("The login, or (with suppressResponseCodes) the error with Authenticated false.", ref("LoginData"))
	paths["/api/v1/Authentication/Login"] = m{"post": m{"tags": []string{"token-login"}, "summary": "Log in (route matches case-insensitively)",
		"parameters": tlParams, "requestBody": tlBody(object([]string{"userName", "password"}, m{
			"userName": str("maxLength", 256, "description", "The user's email (or user name)."), "email": str("format", "email"), "password": str("maxLength", 256),
			"generateReAuthenticationToken": m{"type": "boolean"}, "deviceName": str("maxLength", 256)})),
		"responses": tlResponses(loginData)}}
	paths["/api/v1/Authentication/TokenLogin"] = m{"post": m{"tags": []string{"token-login"}, "summary": "Log in again with a re-authentication token",
		"parameters": tlParams, "requestBody": tlBody(object([]string{"reAuthenticationToken"}, m{"reAuthenticationToken": str("maxLength", 1024)})),
		"responses": tlResponses(loginData)}}
	paths["/api/v1/Authentication/Logout"] = m{"post": m{"tags": []string{"token-login"}, "summary": "End the session and revoke its device's re-authentication token",
		"parameters": append(tlParams, m{"name": "APIToken", "in": "query", "description": "The SessionToken (or the APIToken header).", "schema": str()}),
		"responses":  tlResponses(m{"description": "Logged out."})}}
	wid := []m{pathParam("tid"), pathParam("wid")}
	paths["/admin/v1/tenants/{tid}/webhooks"] = m{
		"parameters": []m{pathParam("tid")},
		"post": adminOp("Register a webhook endpoint; the secret is shown once", ref("WebhookInput"), "201",
			ok("The endpoint with its secret.", schemaOf(reflect.TypeFor[webhookJSON]()))),
		"get": adminOp("List webhook endpoints", nil, "200", ok("Endpoints.", object([]string{"webhooks"},
			m{"webhooks": arr(schemaOf(reflect.TypeFor[webhookJSON]()))}))),
	}
	paths["/admin/v1/tenants/{tid}/webhooks/{wid}"] = m{
		"parameters": wid,
		"get":        adminOp("Get a webhook endpoint", nil, "200", ok("Endpoint.", schemaOf(reflect.TypeFor[webhookJSON]()))),
		"patch": adminOp("Change an endpoint; status \"healthy\" re-enables a suspended one", ref("WebhookInput"), "200",
			ok("Endpoint.", schemaOf(reflect.TypeFor[webhookJSON]()))),
		"delete": adminOp("Delete an endpoint and its deliveries", nil, "204", m{"description": "Done."}),
	}
	paths["/admin/v1/tenants/{tid}/webhooks/{wid}/deliveries"] = m{
		"parameters": wid,
		"get": withParams(adminOp("Deliveries to an endpoint, newest first: every event of its types since it was created, pending, delivered or failed; attempts are logged for every failure and a sample of successes (a delivered event without a logged attempt has attempts 1 and an empty log)", nil, "200",
			ok("Deliveries.", object([]string{"deliveries", "next_cursor"}, m{"deliveries": arr(schemaOf(reflect.TypeFor[deliveryJSON]())),
				"next_cursor": str()}))), pageParams...),
	}
	paths["/admin/v1/tenants/{tid}/webhooks/{wid}/test"] = m{
		"parameters": wid,
		"post": adminOp("Send a signed ping event to the endpoint now and show its answer", nil, "200",
			ok("The attempt.", schemaOf(reflect.TypeFor[attemptJSON]()))),
	}
	schemas = m{
		"WebhookInput": object(nil, m{"url": str("format", "uri", "maxLength", 2048),
			"events":  arr(str("enum", identity.EventTypes)),
			"signing": str("enum", []string{"standard-webhooks", "accounts-v3"}), "status": str("enum", []string{"healthy"})}),
		"AppAuthTokens": schemaOf(reflect.TypeFor[appauth.TokenResponse]()),
		"AppAuthError":  schemaOf(reflect.TypeFor[appauth.ErrorResponse]()),
		"LoginData":     schemaOf(reflect.TypeFor[tokenlogin.LoginData]()),
		"TokenLoginError": object([]string{"Message", "StatusCode"}, m{"Message": str(), "StatusCode": m{"type": "integer"},
			"Authenticated": m{"type": "boolean"}, "ModelState": m{"type": "object", "additionalProperties": arr(str())}}),
	}
	return paths, schemas
}
