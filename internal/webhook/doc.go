// Package webhook holds the parts of login-webhook delivery that need no
// database: endpoint secrets, the two signing schemes receivers check
// (Standard Webhooks, and the accounts-v3 reference API's), the retry
// schedule, and the guard that keeps deliveries off internal addresses.
package webhook
