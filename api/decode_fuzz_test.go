package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// FuzzDecodeRequests feeds arbitrary bodies to the strict JSON decoder every
// handler uses: it must never panic, and whatever it refuses is a client
// error (4xx) naming a field, never a 5xx.
func FuzzDecodeRequests(f *testing.F) {
	for _, seed := range []string{
		`{"number":"INV-1","customer_id":"acme","amount":"10.00","currency":"EUR","issued_at":"2026-11-01T00:00:00Z","due_at":"2026-12-01T00:00:00Z"}`,
		`{"amount": 10}`, `{"nope": 1}`, `{"number": `, ``, `[]`, `null`, `{} {}`, `{"amount":"1e3"}`, "\x00",
	} {
		f.Add(seed)
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body string) {
		var targets = []any{&InvoiceRequest{}, &CustomerRequest{}, &PaymentRequest{}, &PromiseRequest{}, &CustomerPatch{},
			&PaymentWebhook{}, &DecisionRequest{}, &NoteRequest{}}
		for _, v := range targets {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			c := e.NewContext(req, httptest.NewRecorder())
			err := decode(c, v)
			if err == nil {
				continue
			}
			apiErr, ok := err.(*Error)
			if !ok || apiErr.Status < 400 || apiErr.Status >= 500 || apiErr.Field == "" {
				t.Fatalf("body %q: %T %v", body, err, err)
			}
		}
	})
}

// TestNULIsRefusedWhereverItHides: a NUL character, raw or escaped, is a
// 400 naming the body; an escaped backslash before "u0000" is text.
func TestNULIsRefusedWhereverItHides(t *testing.T) {
	for body, refused := range map[string]bool{
		`{"name":"a\u0000b"}`: true, "{\"name\":\"a\x00b\"}": true, `{"name":"a\\\u0000"}`: true,
		`{"name":"a\\u0000b"}`: false, `{"name":"u0000"}`: false, `{"name":"\\\\u0000"}`: false,
	} {
		if err := noNUL([]byte(body)); (err != nil) != refused {
			t.Errorf("%s: %v, refused want %v", body, err, refused)
		} else if err != nil && err.(*Error).Field != "body" {
			t.Errorf("%s: %v", body, err)
		}
	}
}
