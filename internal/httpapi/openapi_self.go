package httpapi

// selfServicePaths describes the self-service routes (package
// selfservice) and the schemas only they use.
func selfServicePaths() (paths, schemas m) {
	op := func(summary string, body m, okStatus string, okResp m, extra ...string) m {
		responses := m{okStatus: okResp,
			"400": problem("Invalid input; `errors` names the field (`code`, `recovery_code`, or the body)."),
			"401": problem("`code` token_invalid: the access token is missing, malformed, forged, expired, or its session has ended " +
				"(with `WWW-Authenticate: Bearer error=\"invalid_token\"`); `code` two_factor_invalid: the code is wrong or was already used."),
			"413": problem("The body is larger than 64 KiB."),
			"415": problem("Content-Type is set and is neither JSON nor text/plain."),
			"429": problem("Too many requests from the address, or too many wrong codes (the login's second-factor lock-out); see Retry-After."),
			"503": problem("The database is unavailable; see Retry-After.")}
		for i := 0; i+1 < len(extra); i += 2 {
			responses[extra[i]] = problem(extra[i+1])
		}
		o := m{"tags": []string{"self-service"}, "summary": summary, "security": []m{{"accessToken": []string{}}}, "responses": responses}
		if body != nil {
			o["requestBody"] = jsonOrText(body)
		}
		return o
	}
	code := str("pattern", "^[0-9]{6}$", "description", "the current code of the authenticator app")
	current := object(nil, m{"code": code, "recovery_code": str("maxLength", 256, "description", "an unused recovery code, instead of code")})
	recovery := ok("Recovery codes, shown once.", ref("RecoveryCodes"))
	paths = m{
		"/auth/v1/me/totp": m{
			"post": op("Begin TOTP enrolment for the caller (pending until confirmed; restarting replaces a pending secret)", nil, "200",
				ok("Secret, otpauth URL and QR code (base64 PNG) for the authenticator app.", ref("TOTPEnrolment")),
				"409", "Two-factor is already on."),
			"delete": op("Turn the caller's two-factor off: needs a current code (or a recovery code) when it is on; cancels a pending enrolment without one",
				current, "204", m{"description": "Done."}),
		},
		"/auth/v1/me/totp/confirm": m{
			"post": op("Confirm the caller's enrolment with a code; two-factor is on afterwards",
				object([]string{"code"}, m{"code": code}), "200", recovery,
				"404", "No enrolment is pending.", "409", "Two-factor is already on."),
		},
		"/auth/v1/me/recovery-codes": m{
			"post": op("Replace the caller's recovery codes, given a current code (or a recovery code)", current, "200", recovery,
				"409", "Two-factor is not on."),
		},
		"/auth/v1/me/sessions": m{
			"get": op("The caller's live sessions, newest first", nil, "200", ok("Sessions.",
				object([]string{"sessions"}, m{"sessions": arr(ref("SelfSession"))}))),
		},
		"/auth/v1/me/sessions/{sid}": m{
			"parameters": []m{pathParam("sid")},
			"delete": op("End one of the caller's sessions (its own current one included: a logout); its tokens stop working", nil,
				"204", m{"description": "Done (also when it had already ended)."}, "404", "No session of the caller has this id (another user's session answers the same)."),
		},
	}
	schemas = m{
		"SelfSession": object([]string{"id", "device", "ip", "created_at", "last_seen_at", "current"}, m{"id": str("format", "uuid"),
			"device": str("description", "the device name the client gave, else its User-Agent"), "ip": str(),
			"created_at": str("format", "date-time"), "last_seen_at": str("format", "date-time"),
			"current": m{"type": "boolean", "description": "the session of the access token presented"}}),
	}
	return paths, schemas
}
