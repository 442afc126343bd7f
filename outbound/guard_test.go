package outbound_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/collections-engine/collections/outbound"
)

func TestSubscriptionURLsGoOnlyToPublicHTTPS(t *testing.T) {
	none, _ := outbound.ParseAllowed("")
	ctx := context.Background()
	for _, u := range []string{
		"http://127.0.0.1:8080/hook",              // loopback, and http
		"https://127.0.0.1/hook",                  // loopback
		"http://169.254.169.254/latest/meta-data", // the cloud metadata service
		"https://169.254.169.254/",
		"https://localhost/hook", // a name that resolves to loopback
		"https://[::1]/hook",
		"https://10.1.2.3/", "https://172.16.0.1/", "https://192.168.1.1/", "https://100.64.0.1/",
		"https://0.0.0.0/", "https://[::]/", "https://224.0.0.1/", "https://[fe80::1]/", "https://[::ffff:127.0.0.1]/",
		"http://93.184.216.34/", // public, but http
		"ftp://example.com/", "https:///x", "https://user:pw@93.184.216.34/",
	} {
		if err := none.CheckURL(ctx, u); err == nil {
			t.Errorf("%s was allowed", u)
		}
	}
	if err := none.CheckURL(ctx, "https://93.184.216.34/hook"); err != nil {
		t.Errorf("a public address over https: %v", err)
	}
	dev, err := outbound.ParseAllowed("localhost, 127.0.0.1,10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://127.0.0.1:8080/hook", "http://localhost:9000/", "https://10.1.2.3/"} {
		if err := dev.CheckURL(ctx, u); err != nil {
			t.Errorf("%s with OUTBOUND_ALLOW_HOSTS: %v", u, err)
		}
	}
	if err := dev.CheckURL(ctx, "http://169.254.169.254/"); err == nil {
		t.Error("allowing loopback and 10/8 allowed the metadata service")
	}
	if _, err := outbound.ParseAllowed("10.0.0.0/33"); err == nil {
		t.Error("a bad range was read")
	}
}

// The check is made again on the address each delivery dials: a name
// (localhost here; a DNS answer changed after the subscription was made, in
// an attack) that resolves inside is refused when dialled.
func TestDeliveriesDialOnlyPublicOrAllowedAddresses(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]

	none, _ := outbound.ParseAllowed("")
	for _, u := range []string{srv.URL + "/hook", "http://localhost" + port + "/hook"} {
		_, err := none.Client(5*time.Second).Post(u, "application/json", strings.NewReader("{}"))
		if !errors.Is(err, outbound.ErrRefused) {
			t.Errorf("%s: %v, want refused", u, err)
		}
	}
	if hits != 0 {
		t.Fatalf("the receiver was reached %d times", hits)
	}
	allowed, _ := outbound.ParseAllowed("127.0.0.1")
	res, err := allowed.Client(5*time.Second).Post(srv.URL+"/hook", "application/json", strings.NewReader("{}"))
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("an allowed receiver: %v %v", res, err)
	}
	res.Body.Close()
	// An allowed receiver cannot redirect a delivery inside.
	if _, err := allowed.Client(5*time.Second).Post(srv.URL+"/redirect", "application/json", strings.NewReader("{}")); !errors.Is(err, outbound.ErrRefused) {
		t.Fatalf("a redirect to the metadata service: %v, want refused", err)
	}
}
