package policy

import (
	"strings"
	"testing"
	"time"
)

func TestReplyHoldCountsBusinessDays(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	thu := time.Date(2026, 12, 3, 15, 0, 0, 0, berlin) // Thursday
	var p Policy
	if !p.PausesOnReply() {
		t.Error("pause_on_reply is on by default")
	}
	off := false
	if (Policy{PauseOnReply: &off}).PausesOnReply() {
		t.Error("pause_on_reply false is off")
	}
	// Thu + 3 business days: Fri, Mon, Tue.
	if got, want := p.ReplyHoldUntil(thu, berlin), time.Date(2026, 12, 8, 15, 0, 0, 0, berlin); !got.Equal(want) {
		t.Errorf("default hold ends %s, want %s", got.In(berlin), want)
	}
	p.ReplyHoldDays = 1
	p.Calendar.Holidays = []string{"2026-12-04"}
	if got, want := p.ReplyHoldUntil(thu, berlin), time.Date(2026, 12, 7, 15, 0, 0, 0, berlin); !got.Equal(want) {
		t.Errorf("1 day over a holiday and a weekend ends %s, want %s", got.In(berlin), want)
	}
	p.Calendar = Calendar{Days: []string{"sat"}}
	if got, want := p.ReplyHoldUntil(thu, berlin), time.Date(2026, 12, 5, 15, 0, 0, 0, berlin); !got.Equal(want) {
		t.Errorf("the calendar's days count: %s, want %s", got.In(berlin), want)
	}
	bad := Standard()
	bad.ReplyHoldDays = 31
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "reply_hold:") {
		t.Errorf("reply_hold 31: %v", err)
	}
}
