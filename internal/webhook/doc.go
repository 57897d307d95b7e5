// Package webhook delivers login webhooks: endpoint secrets, the two
// signing schemes receivers check (Standard Webhooks, and the accounts-v3
// reference API's), the retry schedule, the guard that keeps deliveries off
// internal addresses, and the dispatcher that fans events out, claims due
// deliveries and records every attempt.
package webhook
