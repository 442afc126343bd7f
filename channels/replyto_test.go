package channels

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

const testInboundSecret = "inbound-secret-0123456789"

func TestReplyAddressRoundTripsAndRefusesForgeries(t *testing.T) {
	addr := ReplyAddress(testInboundSecret, "reply.example.com", "0190-abc")
	if !strings.HasPrefix(addr, "reply+0190-abc.") || !strings.HasSuffix(addr, "@reply.example.com") {
		t.Fatalf("address = %q", addr)
	}
	if len(strings.Split(addr, "@")[0]) > 64 {
		t.Fatalf("local part longer than RFC 5321 allows: %q", addr)
	}
	if id, ok := ParseReplyAddress(testInboundSecret, "reply.example.com", strings.ToUpper(addr)); !ok || id != "0190-abc" {
		t.Fatalf("parse = %q %v", id, ok)
	}
	forged := strings.Replace(addr, "0190-abc", "0190-abd", 1)
	for _, bad := range []string{forged, "reply+0190-abc@reply.example.com", strings.Replace(addr, "reply.example.com", "evil.test", 1),
		"ar@reply.example.com", "", "@", "reply+.@reply.example.com"} {
		if id, ok := ParseReplyAddress(testInboundSecret, "reply.example.com", bad); ok {
			t.Errorf("%q parsed as %q", bad, id)
		}
	}
	if _, ok := ParseReplyAddress("another-secret-0123456789", "reply.example.com", addr); ok {
		t.Error("a tag made with another secret was taken")
	}
	got := ReplyTokens(testInboundSecret, "reply.example.com", `"Acme AR" <`+addr+`>, other@x.test`)
	if len(got) != 1 || got[0] != "0190-abc" {
		t.Errorf("tokens = %v", got)
	}
	if ids := ParseMessageIDs("reply.example.com", "<a1@reply.example.com> <zz@elsewhere.test>\t<b2@REPLY.example.com>"); strings.Join(ids, ",") != "a1,b2" {
		t.Errorf("message ids = %v", ids)
	}
}

// TestSendGridReplyToIsDerivedFromTheMessageID: with an inbound domain,
// each email carries its own reply-to address and Message-ID, and a
// retried send of the same message carries the same ones.
func TestSendGridReplyToIsDerivedFromTheMessageID(t *testing.T) {
	var bodies []map[string]any
	s := newTestSendGrid(t, SendGridConfig{ReplyTo: "billing@example.com", InboundDomain: "Reply.Example.com", InboundSecret: testInboundSecret},
		func(w http.ResponseWriter, r *http.Request) {
			raw, _ := io.ReadAll(r.Body)
			var doc map[string]any
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, doc)
			w.WriteHeader(http.StatusAccepted)
		})
	for range 2 {
		if _, err := s.Send(context.Background(), testMessage()); err != nil {
			t.Fatal(err)
		}
	}
	want := ReplyAddress(testInboundSecret, "reply.example.com", "msg-123")
	for i, doc := range bodies {
		if got := path(t, doc, "reply_to", "email"); got != want {
			t.Errorf("send %d: reply_to = %v, want %s", i, got, want)
		}
		if got := path(t, doc, "headers", "Message-ID"); got != "<msg-123@reply.example.com>" {
			t.Errorf("send %d: Message-ID = %v", i, got)
		}
	}
	if len(bodies) != 2 {
		t.Fatalf("%d sends", len(bodies))
	}
	if _, err := NewSendGrid(SendGridConfig{APIKey: "k", FromEmail: "ar@example.com", InboundDomain: "reply.example.com"}); err == nil ||
		!strings.Contains(err.Error(), "INBOUND_EMAIL_SECRET") {
		t.Errorf("a domain without a secret: %v", err)
	}
	if _, err := NewSendGrid(SendGridConfig{APIKey: "k", FromEmail: "ar@example.com", InboundDomain: "a b@c", InboundSecret: testInboundSecret}); err == nil {
		t.Error("a malformed domain was taken")
	}
}
