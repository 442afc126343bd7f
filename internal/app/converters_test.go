package app

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/collections-engine/collections/codec"
)

// With the codec on, an error quoting customer data reaches Temporal's
// history encrypted (message and stack trace), and reads back whole.
func TestConvertersEncryptErrorMessages(t *testing.T) {
	pc, err := codec.New([]codec.Key{{ID: "k1", Secret: bytes.Repeat([]byte{3}, codec.KeySize)}})
	if err != nil {
		t.Fatal(err)
	}
	dc, fc := Converters(pc)
	cause := temporal.NewApplicationError("mail to ap@acme.test bounced", "Bounced", "details for ap@acme.test")
	f := fc.ErrorToFailure(cause)
	raw, _ := proto.Marshal(f)
	if bytes.Contains(raw, []byte("acme")) {
		t.Fatalf("the failure holds the address in clear: %v", f)
	}
	if f.GetEncodedAttributes() == nil || f.GetApplicationFailureInfo().GetType() != "Bounced" {
		t.Fatalf("failure: %v", f)
	}
	back := fc.FailureToError(f)
	var appErr *temporal.ApplicationError
	if !errors.As(back, &appErr) || !strings.Contains(appErr.Error(), "mail to ap@acme.test bounced") || appErr.Type() != "Bounced" {
		t.Fatalf("read back: %v", back)
	}
	var details string
	if err := appErr.Details(&details); err != nil || details != "details for ap@acme.test" {
		t.Fatalf("details: %q %v", details, err)
	}
	p, err := dc.ToPayload("ap@acme.test")
	if err != nil || bytes.Contains(p.GetData(), []byte("acme")) {
		t.Fatalf("data converter: %v %v", p, err)
	}
}
