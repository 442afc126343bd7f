package api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/collections-engine/collections/collect"
)

// Each kind of a business action's failure has one status and code, and
// keeps its field and message.
func TestFromCase(t *testing.T) {
	for kind, want := range map[collect.Kind]struct {
		status int
		code   string
	}{
		collect.Invalid:     {http.StatusBadRequest, CodeInvalid},
		collect.Refused:     {http.StatusUnprocessableEntity, CodeInvalid},
		collect.NotFound:    {http.StatusNotFound, CodeNotFound},
		collect.Conflict:    {http.StatusConflict, CodeConflict},
		collect.Closed:      {http.StatusConflict, CodeConflict},
		collect.Unavailable: {http.StatusServiceUnavailable, CodeUnavailable},
	} {
		in := fmt.Errorf("wrapped: %w", &collect.Error{Kind: kind, Field: "amount", Message: "amount: no"})
		var got *Error
		if !errors.As(fromCase(in), &got) || got.Status != want.status || got.Code != want.code || got.Field != "amount" || got.Message != "amount: no" {
			t.Errorf("%s: %+v, want %d %s", kind, got, want.status, want.code)
		}
	}
	plain := errors.New("disk full")
	if err := fromCase(plain); err != plain {
		t.Errorf("a plain error became %v", err)
	}
	if err := fromCase(nil); err != nil {
		t.Errorf("nil became %v", err)
	}
}
