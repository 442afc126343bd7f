package api

import (
	"context"
	"testing"
	"time"

	"github.com/collections-engine/collections/db"
	"github.com/collections-engine/collections/db/dbtest"
)

func TestListInboundEmails(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	env := newDeskEnv(t, dbtest.SQLite(t), now)
	s := &Server{Store: env.store}
	env.e.GET("/v1/inbound-emails", s.listInboundEmails)
	ctx := context.Background()
	resolved := now
	for i, e := range []db.InboundEmail{
		{ID: "e1", ReceivedAt: now.Add(-3 * time.Hour), Sender: "who@else.test", Subject: "Re: ?", Body: "which invoice?", Status: db.InboundUnmatched},
		{ID: "e2", ReceivedAt: now.Add(-2 * time.Hour), Sender: "old@else.test", Status: db.InboundUnmatched, ResolvedAt: &resolved},
		{ID: "e3", ReceivedAt: now.Add(-1 * time.Hour), Sender: "ap@acme.test", Status: db.InboundAutoReply},
	} {
		if _, err := env.store.StoreInboundEmail(ctx, db.InboundReply{Email: &e}); err != nil {
			t.Fatal(i, err)
		}
	}
	list := env.do("GET", "/v1/inbound-emails?status=unmatched&open=true", nil, 200)["inbound_emails"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != "e1" || list[0].(map[string]any)["body"] != "which invoice?" {
		t.Errorf("the team's queue: %v", list)
	}
	if all := env.do("GET", "/v1/inbound-emails", nil, 200)["inbound_emails"].([]any); len(all) != 3 || all[0].(map[string]any)["id"] != "e3" {
		t.Errorf("all, newest first: %v", all)
	}
	env.do("GET", "/v1/inbound-emails?status=lost", nil, 400)
}
