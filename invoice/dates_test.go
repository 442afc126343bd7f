package invoice

import (
	"testing"
	"time"
)

func TestCheckDateAllowsTenYearsEitherWay(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at time.Time
		ok bool
	}{
		{now, true},
		{now.AddDate(9, 0, 0), true},
		{now.AddDate(-9, 0, 0), true},
		{now.AddDate(11, 0, 0), false},
		{now.AddDate(-11, 0, 0), false},
		{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), false},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), false},
	} {
		if err := CheckDate(c.at, now); (err == nil) != c.ok {
			t.Errorf("CheckDate(%s) = %v", c.at, err)
		}
	}
}
