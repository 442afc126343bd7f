package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/collections-engine/collections/db"
)

// Roles, lowest first; each may do everything the ones below it may:
//
//	read-only   reads (GET), and the codec endpoints, which change nothing
//	read-write  the day's work: customers, invoices, payments, disputes,
//	            promises, pauses, notes, tasks, imports, credit applications
//	manager     management's decisions: an escalated account's decision, a
//	            credit application's decision, a write-off
//	admin       how the engine behaves: policies, webhook subscriptions and
//	            their deliveries, API keys, the audit log
//
// Management decisions get a role of their own so that an account manager
// can decide on the accounts without being able to change the policies,
// the webhooks or the keys.
const RoleManager = db.RoleManager

var roleRank = map[string]int{db.RoleReadOnly: 1, db.RoleReadWrite: 2, RoleManager: 3, db.RoleAdmin: 4}

// Roles lists the roles, lowest first.
var Roles = db.Roles

// routeRoles is the role each route needs beyond its method's default
// (GET and HEAD: read-only; anything else: read-write), keyed by method and
// route pattern as registered. It is the one place that decides who may do
// what; the test walks every registered route with every role.
var routeRoles = map[string]string{
	"POST /v1/policies": db.RoleAdmin,

	"POST /v1/webhook-subscriptions":            db.RoleAdmin,
	"GET /v1/webhook-subscriptions":             db.RoleAdmin,
	"GET /v1/webhook-subscriptions/:id":         db.RoleAdmin,
	"DELETE /v1/webhook-subscriptions/:id":      db.RoleAdmin,
	"GET /v1/webhook-deliveries":                db.RoleAdmin,
	"GET /v1/keys":                              db.RoleAdmin,
	"POST /v1/keys":                             db.RoleAdmin,
	"DELETE /v1/keys/:id":                       db.RoleAdmin,
	"GET /v1/audit":                             db.RoleAdmin,
	"POST /v1/invoices/:id/escalation/decision": RoleManager,
	"POST /v1/credit-applications/:id/decision": RoleManager,
	"POST /v1/invoices/:id/write-off":           RoleManager,

	// Payment plans outside the policy's bounds wait for a manager.
	"POST /v1/invoices/:id/payment-plan/decision": RoleManager,

	// Revoking customer portal links.
	"POST /v1/portal/revocations": RoleManager,
}

// requiredRole is the role a request needs: route is the pattern Echo
// matched (c.Path()), path the request's own.
func requiredRole(method, route, path string) string {
	if r, ok := routeRoles[method+" "+route]; ok {
		return r
	}
	// The codec endpoints are POSTs that change nothing: any role may
	// decode (and encode) payloads.
	if method == http.MethodGet || method == http.MethodHead || strings.HasPrefix(path, codecPrefix) {
		return db.RoleReadOnly
	}
	return db.RoleReadWrite
}

// allows reports whether a key's role reaches the role a request needs. An
// unknown role allows nothing.
func allows(have, need string) bool {
	h, ok := roleRank[have]
	return ok && h >= roleRank[need]
}

// forbidden is the answer to a key whose role is too low.
func forbidden(have, need string) *Error {
	msg := fmt.Sprintf("this API key's role is %s; this needs %s", have, need)
	if have == db.RoleReadOnly && need == db.RoleReadWrite {
		msg = "this API key is read-only"
	}
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: msg}
}
