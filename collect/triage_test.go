package collect

import (
	"slices"
	"testing"
)

func TestTriageRules(t *testing.T) {
	cases := []struct {
		name        string
		headers     map[string]string
		subject     string
		text        string
		attachments int
		auto        bool
		flags       []string
	}{
		{"RFC 3834", map[string]string{"Auto-Submitted": "auto-replied"}, "Re: Invoice INV-1", "I am away", 0, true, nil},
		{"Auto-Submitted: no is human", map[string]string{"Auto-Submitted": "no"}, "Re: Invoice INV-1", "ok", 0, false, nil},
		{"X-Autoreply", map[string]string{"X-Autoreply": "yes"}, "Invoice", "", 0, true, nil},
		{"Exchange OOF", map[string]string{"X-Auto-Response-Suppress": "OOF, AutoReply"}, "x", "", 0, true, nil},
		{"out-of-office subject", nil, "Out of Office: back on Monday", "", 0, true, nil},
		{"German subject", nil, "Abwesenheitsnotiz: Rechnung", "", 0, true, nil},
		{"a human reply to an out-of-office", nil, "Re: Out of office", "fine", 0, false, nil},
		{"remittance with attachment", nil, "Re: Invoice INV-1", "Please find our remittance advice attached.", 1, false, []string{FlagCheckForPayment}},
		{"paid without attachment is not flagged", nil, "Re: Invoice INV-1", "We paid yesterday.", 0, false, nil},
		{"unpaid is not paid", nil, "Re: INV-1", "Why is it still unpaid?", 1, false, nil},
		{"dispute", nil, "Re: Invoice INV-1", "The amount is incorrect, we were overcharged.", 0, false, []string{FlagDispute}},
		{"both", nil, "Dispute", "We paid part, see attached; the rest we dispute.", 2, false, []string{FlagCheckForPayment, FlagDispute}},
		{"plain question", nil, "Re: Invoice INV-1", "Can you send a copy?", 0, false, nil},
	}
	for _, c := range cases {
		got := TriageReply(c.headers, c.subject, c.text, c.attachments)
		if got.AutoReply != c.auto || !slices.Equal(got.Flags, c.flags) {
			t.Errorf("%s: got %+v, want auto=%v flags=%v", c.name, got, c.auto, c.flags)
		}
	}
}

func TestOwnTextDropsTheQuotedMail(t *testing.T) {
	in := "We paid on Friday.\r\nRegards, Pat\r\n\r\nOn Mon, 7 Dec 2026 at 09:00, Acme AR <ar@acme.test> wrote:\r\n> Invoice INV-1 is due.\r\n> Amount: 1,000.00"
	if got := OwnText(in); got != "We paid on Friday.\nRegards, Pat" {
		t.Errorf("own text = %q", got)
	}
	if got := OwnText("> only quoted"); got != "" {
		t.Errorf("all quoted = %q", got)
	}
}
