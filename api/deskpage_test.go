package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
)

// The collectors' page (package deskpage) is mounted at /desk/ and signs in
// with a session of its own: a bearer key is not a session there, and a
// session is not a bearer key anywhere else.
func TestPageMounted(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	store := db.NewStore(dbtest.SQLite(t).DB)
	s := &Server{Store: store, Temporal: newFakeTemporal(), Log: slog.New(slog.DiscardHandler), Clock: func() time.Time { return now }}
	h := s.Handler()
	secret, rec, err := NewKey("desk test", db.RoleReadOnly, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.InsertAPIKey(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	do := func(req *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}

	if w := do(httptest.NewRequest("GET", "/desk", nil)); w.Code != http.StatusFound || w.Header().Get("Location") != "/desk/" {
		t.Fatalf("GET /desk: %d %q", w.Code, w.Header().Get("Location"))
	}
	req := httptest.NewRequest("GET", "/desk/", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	if w := do(req); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/desk/login?next=%2Fdesk%2F" {
		t.Fatalf("GET /desk/ with a bearer key: %d %q", w.Code, w.Header().Get("Location"))
	}

	req = httptest.NewRequest("POST", "/desk/login", strings.NewReader(url.Values{"key": {secret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := do(req)
	cookies := w.Result().Cookies()
	if w.Code != http.StatusSeeOther || len(cookies) != 1 {
		t.Fatalf("login: %d %v %s", w.Code, cookies, w.Body)
	}
	req = httptest.NewRequest("GET", "/desk/", nil)
	req.AddCookie(cookies[0])
	if w := do(req); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "signed in as desk test") {
		t.Fatalf("worklist page: %d %.300s", w.Code, w.Body)
	}
	req = httptest.NewRequest("GET", "/v1/worklist", nil)
	req.AddCookie(cookies[0])
	if w := do(req); w.Code != http.StatusUnauthorized {
		t.Fatalf("/v1 with a session cookie: %d", w.Code)
	}
}
