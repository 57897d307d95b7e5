// Package httpapi assembles latch's HTTP surface: the dialects, the admin
// API, health, readiness, metrics, JWKS and the OpenAPI document, behind
// one middleware stack. routes.go lists every route.
package httpapi
