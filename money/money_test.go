package money

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestCurrency(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "USD", want: "USD"},
		{in: "usd", want: "USD"},
		{in: "Eur", want: "EUR"},
		{in: "JPY", want: "JPY"},
		{in: "bhd", want: "BHD"},
		{in: "XXX", wantErr: true},
		{in: "xxx", wantErr: true},
		{in: "XTS", wantErr: true},
		{in: "xts", wantErr: true},
		{in: "", wantErr: true},
		{in: "US", wantErr: true},
		{in: "USDD", wantErr: true},
		{in: "US1", wantErr: true},
		{in: "U$D", wantErr: true},
		{in: " USD", wantErr: true},
		{in: "USD ", wantErr: true},
		{in: "ÜSD", wantErr: true},
		{in: "ABC", wantErr: true},
		{in: "ZZZ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Currency(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Currency(%q) = %q, want error", tt.in, got)
				}
				if !errors.Is(err, ErrUnknownCurrency) {
					t.Errorf("Currency(%q) error %v does not match ErrUnknownCurrency", tt.in, err)
				}
				if !strings.Contains(err.Error(), "not a known ISO 4217 currency") {
					t.Errorf("Currency(%q) error %q does not say it is not a known ISO 4217 currency", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Currency(%q) unexpected error: %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Currency(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestScale(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{
		{"USD", 2},
		{"usd", 2},
		{"JPY", 0},
		{"BHD", 3},
		{"EUR", 2},
		{"KWD", 3},
		{"GBP", 2},
		{"XXX", -1},
		{"nope", -1},
	}
	for _, tt := range tests {
		if got := Scale(tt.code); got != tt.want {
			t.Errorf("Scale(%q) = %d, want %d", tt.code, got, tt.want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		name    string
		s       string
		cur     string
		want    int64
		wantErr error  // sentinel the error must match, nil for success
		msg     string // substring the error message must contain
	}{
		{name: "two decimals", s: "1250.00", cur: "USD", want: 125000},
		{name: "one decimal", s: "1250.5", cur: "USD", want: 125050},
		{name: "no decimals", s: "1250", cur: "USD", want: 125000},
		{name: "one cent", s: "0.01", cur: "USD", want: 1},
		{name: "zero", s: "0", cur: "USD", want: 0},
		{name: "zero with decimals", s: "0.00", cur: "USD", want: 0},
		{name: "leading zeros", s: "007.10", cur: "USD", want: 710},
		{name: "lower-case currency", s: "12.34", cur: "usd", want: 1234},
		{name: "JPY whole", s: "1500", cur: "JPY", want: 1500},
		{name: "BHD three decimals", s: "1.234", cur: "BHD", want: 1234},
		{name: "BHD one decimal", s: "1.2", cur: "BHD", want: 1200},
		{name: "EUR", s: "99.99", cur: "EUR", want: 9999},
		{name: "max int64", s: "92233720368547758.07", cur: "USD", want: math.MaxInt64},
		{name: "max int64 JPY", s: "9223372036854775807", cur: "JPY", want: math.MaxInt64},

		{name: "empty", s: "", cur: "USD", wantErr: ErrEmptyAmount, msg: "empty"},

		{name: "exponent", s: "1e3", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "thousands separator", s: "1,000.00", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "leading space", s: " 12", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "trailing space", s: "12 ", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "plus sign", s: "+5", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "trailing point", s: "12.", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "leading point", s: ".5", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "hex", s: "0x10", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "NaN", s: "NaN", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "Inf", s: "Inf", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "two points", s: "1.2.3", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "only point", s: ".", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "only minus", s: "-", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "minus garbage", s: "-abc", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "double minus", s: "--5", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "underscore", s: "1_000", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "unicode digit", s: "١٢", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},
		{name: "currency symbol", s: "$5", cur: "USD", wantErr: ErrInvalidAmount, msg: "not a plain decimal"},

		{name: "negative", s: "-5.00", cur: "USD", wantErr: ErrNegativeAmount, msg: "must not be negative"},
		{name: "negative whole", s: "-5", cur: "JPY", wantErr: ErrNegativeAmount, msg: "must not be negative"},
		{name: "negative zero", s: "-0", cur: "USD", wantErr: ErrNegativeAmount, msg: "must not be negative"},

		{name: "USD three decimals", s: "10.001", cur: "USD", wantErr: ErrTooPrecise, msg: "USD allows at most 2"},
		{name: "USD trailing zero counts", s: "10.000", cur: "USD", wantErr: ErrTooPrecise, msg: "USD allows at most 2"},
		{name: "JPY decimal", s: "10.5", cur: "JPY", wantErr: ErrTooPrecise, msg: "JPY allows none"},
		{name: "JPY zero decimal", s: "10.0", cur: "JPY", wantErr: ErrTooPrecise, msg: "JPY allows none"},
		{name: "BHD four decimals", s: "1.2345", cur: "BHD", wantErr: ErrTooPrecise, msg: "BHD allows at most 3"},

		{name: "overflow by one", s: "92233720368547758.08", cur: "USD", wantErr: ErrAmountTooLarge, msg: "too large"},
		{name: "overflow integer", s: "92233720368547759", cur: "USD", wantErr: ErrAmountTooLarge, msg: "too large"},
		{name: "overflow JPY", s: "9223372036854775808", cur: "JPY", wantErr: ErrAmountTooLarge, msg: "too large"},
		{name: "overflow huge", s: strings.Repeat("9", 100), cur: "USD", wantErr: ErrAmountTooLarge, msg: "too large"},

		{name: "unknown currency", s: "1.00", cur: "ABC", wantErr: ErrUnknownCurrency, msg: "not a known ISO 4217 currency"},
		{name: "XXX currency", s: "1.00", cur: "XXX", wantErr: ErrUnknownCurrency, msg: "not a known ISO 4217 currency"},
		{name: "empty currency", s: "1.00", cur: "", wantErr: ErrUnknownCurrency, msg: "not a known ISO 4217 currency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAmount(tt.s, tt.cur)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("ParseAmount(%q, %q) = %d, want error", tt.s, tt.cur, got)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("ParseAmount(%q, %q) error %q does not match %q", tt.s, tt.cur, err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("ParseAmount(%q, %q) error %q does not contain %q", tt.s, tt.cur, err, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAmount(%q, %q) unexpected error: %v", tt.s, tt.cur, err)
			}
			if got != tt.want {
				t.Errorf("ParseAmount(%q, %q) = %d, want %d", tt.s, tt.cur, got, tt.want)
			}
		})
	}
}

// The different failure kinds must produce different messages so API users
// can tell them apart.
func TestParseAmountMessagesDistinct(t *testing.T) {
	inputs := []struct{ s, cur string }{
		{"", "USD"},
		{"1e3", "USD"},
		{"-5.00", "USD"},
		{"10.001", "USD"},
		{"92233720368547759", "USD"},
		{"1", "ABC"},
	}
	seen := map[string]string{}
	for _, in := range inputs {
		_, err := ParseAmount(in.s, in.cur)
		if err == nil {
			t.Fatalf("ParseAmount(%q, %q): want error", in.s, in.cur)
		}
		// Compare with the input removed so only the wording is compared.
		wording := strings.ReplaceAll(err.Error(), in.s, "")
		if prev, ok := seen[wording]; ok {
			t.Errorf("ParseAmount(%q) and ParseAmount(%q) share the message %q", prev, in.s, wording)
		}
		seen[wording] = in.s
	}
}

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		minor int64
		cur   string
		want  string
	}{
		{125000, "USD", "1250.00"},
		{125050, "USD", "1250.50"},
		{1, "USD", "0.01"},
		{10, "USD", "0.10"},
		{0, "USD", "0.00"},
		{-150, "USD", "-1.50"},
		{-1, "USD", "-0.01"},
		{5, "JPY", "5"},
		{0, "JPY", "0"},
		{-5, "JPY", "-5"},
		{1234, "BHD", "1.234"},
		{5, "BHD", "0.005"},
		{9999, "eur", "99.99"},
		{math.MaxInt64, "USD", "92233720368547758.07"},
		{math.MinInt64, "USD", "-92233720368547758.08"},
		{math.MinInt64, "JPY", "-9223372036854775808"},
		{1234, "ABC", "1234"}, // unknown currency: no fractional digits
	}
	for _, tt := range tests {
		if got := FormatAmount(tt.minor, tt.cur); got != tt.want {
			t.Errorf("FormatAmount(%d, %q) = %q, want %q", tt.minor, tt.cur, got, tt.want)
		}
	}
}

func TestDisplay(t *testing.T) {
	tests := []struct {
		minor int64
		cur   string
		want  string
	}{
		{125000, "USD", "USD 1,250.00"},
		{1500, "JPY", "JPY 1,500"},
		{0, "USD", "USD 0.00"},
		{1, "USD", "USD 0.01"},
		{99999, "USD", "USD 999.99"},
		{100000, "USD", "USD 1,000.00"},
		{123456789, "usd", "USD 1,234,567.89"},
		{-150, "USD", "USD -1.50"},
		{-123456789, "USD", "USD -1,234,567.89"},
		{999, "JPY", "JPY 999"},
		{1000000, "JPY", "JPY 1,000,000"},
		{1234567, "BHD", "BHD 1,234.567"},
		{math.MaxInt64, "USD", "USD 92,233,720,368,547,758.07"},
		{math.MinInt64, "JPY", "JPY -9,223,372,036,854,775,808"},
	}
	for _, tt := range tests {
		if got := Display(tt.minor, tt.cur); got != tt.want {
			t.Errorf("Display(%d, %q) = %q, want %q", tt.minor, tt.cur, got, tt.want)
		}
	}
}

func TestFormatParseRoundTrip(t *testing.T) {
	values := []int64{0, 1, 9, 10, 99, 100, 101, 125000, 1234567, math.MaxInt64 - 1, math.MaxInt64}
	for _, cur := range []string{"USD", "JPY", "BHD", "EUR"} {
		for _, v := range values {
			s := FormatAmount(v, cur)
			got, err := ParseAmount(s, cur)
			if err != nil {
				t.Errorf("ParseAmount(FormatAmount(%d, %q) = %q): %v", v, cur, s, err)
				continue
			}
			if got != v {
				t.Errorf("round trip %d %s via %q gave %d", v, cur, s, got)
			}
		}
	}
}

var fuzzCurrencies = []string{"USD", "JPY", "BHD", "EUR", "usd", "XXX", "ABC"}

func FuzzParseAmount(f *testing.F) {
	seeds := []struct {
		s   string
		cur uint8
	}{
		{"1250.00", 0},
		{"1250.5", 0},
		{"1250", 1},
		{"0.01", 0},
		{"1.234", 2},
		{"10.001", 0},
		{"10.5", 1},
		{"-5.00", 0},
		{"1e3", 0},
		{"1,000.00", 3},
		{"", 0},
		{"92233720368547758.07", 0},
		{"92233720368547758.08", 0},
		{"0007.1", 4},
		{"1.00", 5},
	}
	for _, seed := range seeds {
		f.Add(seed.s, seed.cur)
	}
	f.Fuzz(func(t *testing.T, s string, curIdx uint8) {
		cur := fuzzCurrencies[int(curIdx)%len(fuzzCurrencies)]
		v, err := ParseAmount(s, cur)
		if err != nil {
			if v != 0 {
				t.Fatalf("ParseAmount(%q, %q) returned %d with error %v", s, cur, v, err)
			}
			if err.Error() == "" {
				t.Fatalf("ParseAmount(%q, %q) returned an empty error message", s, cur)
			}
			return
		}
		if v < 0 {
			t.Fatalf("ParseAmount(%q, %q) = %d, want non-negative", s, cur, v)
		}
		formatted := FormatAmount(v, cur)
		back, err := ParseAmount(formatted, cur)
		if err != nil {
			t.Fatalf("ParseAmount(%q, %q) = %d, FormatAmount = %q, which does not parse: %v", s, cur, v, formatted, err)
		}
		if back != v {
			t.Fatalf("ParseAmount(%q, %q) = %d, FormatAmount = %q, parses back to %d", s, cur, v, formatted, back)
		}
		// The rendering must be canonical: formatting again is stable.
		if again := FormatAmount(back, cur); again != formatted {
			t.Fatalf("FormatAmount not stable: %q then %q", formatted, again)
		}
	})
}
