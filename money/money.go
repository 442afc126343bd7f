// Package money represents amounts of money as integer minor units (cents,
// fils, yen, ...) together with an ISO 4217 currency code.
//
// No floating point is used anywhere: amounts are parsed from and rendered to
// decimal strings with integer arithmetic only. The number of minor-unit
// digits of a currency (its scale) comes from the CLDR data shipped with
// golang.org/x/text/currency (currency.Standard rounding). Note that CLDR
// differs from the ISO 4217 table for a handful of currencies (for example
// IQD, COP and IDR have scale 0 in CLDR); this package follows CLDR.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/currency"
)

// Sentinel errors. The errors returned by Currency and ParseAmount carry a
// specific, human-readable message and match one of these with errors.Is.
var (
	// ErrUnknownCurrency: the code is not a known ISO 4217 currency.
	ErrUnknownCurrency = errors.New("not a known ISO 4217 currency")
	// ErrEmptyAmount: the amount string is empty.
	ErrEmptyAmount = errors.New("amount is empty")
	// ErrInvalidAmount: the amount is not a plain decimal number.
	ErrInvalidAmount = errors.New("amount is not a plain decimal number")
	// ErrNegativeAmount: the amount is negative.
	ErrNegativeAmount = errors.New("amount must not be negative")
	// ErrTooPrecise: the amount has more fractional digits than the currency allows.
	ErrTooPrecise = errors.New("amount has too many fractional digits")
	// ErrAmountTooLarge: the amount does not fit in int64 minor units.
	ErrAmountTooLarge = errors.New("amount is too large")
)

// moneyError pairs a detailed message with one of the sentinel errors.
type moneyError struct {
	kind error
	msg  string
}

func (e *moneyError) Error() string { return e.msg }
func (e *moneyError) Unwrap() error { return e.kind }

func newError(kind error, format string, args ...any) error {
	return &moneyError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Currency validates and normalises an ISO 4217 code ("usd" -> "USD").
// It rejects codes that are not exactly three ASCII letters, codes unknown to
// ISO 4217, and the special codes XXX (no currency) and XTS (testing).
func Currency(code string) (string, error) {
	if len(code) != 3 || !isASCIILetters(code) {
		return "", newError(ErrUnknownCurrency, "currency %q is not a known ISO 4217 currency (expected a 3-letter code such as USD)", code)
	}
	upper := strings.ToUpper(code)
	if upper == "XXX" || upper == "XTS" {
		return "", newError(ErrUnknownCurrency, "currency %q is not a known ISO 4217 currency (XXX and XTS are reserved codes)", code)
	}
	unit, err := currency.ParseISO(upper)
	if err != nil || unit == currency.XXX {
		return "", newError(ErrUnknownCurrency, "currency %q is not a known ISO 4217 currency", code)
	}
	return unit.String(), nil
}

// Scale returns the number of minor-unit digits for a valid code (USD 2,
// JPY 0, BHD 3, EUR 2). The code is normalised like Currency does. For an
// invalid code Scale returns -1.
func Scale(code string) int {
	norm, err := Currency(code)
	if err != nil {
		return -1
	}
	scale, _ := currency.Standard.Rounding(currency.MustParseISO(norm))
	return scale
}

// ParseAmount parses a plain decimal string such as "1250.00", "1250.5",
// "1250" or "0.01" into minor units of the given currency.
//
// The accepted syntax is one or more ASCII digits, optionally followed by a
// '.' and one or more digits. Signs, exponents, thousands separators,
// surrounding whitespace and hexadecimal are rejected. The number of
// fractional digits must not exceed the currency's scale (trailing zeros
// count). Zero is accepted; callers decide whether zero is meaningful.
func ParseAmount(s string, currencyCode string) (int64, error) {
	cur, err := Currency(currencyCode)
	if err != nil {
		return 0, err
	}
	scale := Scale(cur)

	if s == "" {
		return 0, newError(ErrEmptyAmount, "amount is empty")
	}
	if s[0] == '-' {
		if _, _, ok := splitDecimal(s[1:]); ok {
			return 0, newError(ErrNegativeAmount, "amount %q must not be negative", s)
		}
	}
	intPart, fracPart, ok := splitDecimal(s)
	if !ok {
		return 0, newError(ErrInvalidAmount, "amount %q is not a plain decimal number (expected digits with an optional decimal point, e.g. 1250.00)", s)
	}
	if len(fracPart) > scale {
		if scale == 0 {
			return 0, newError(ErrTooPrecise, "amount %q has %d fractional digits but %s allows none (whole units only)", s, len(fracPart), cur)
		}
		return 0, newError(ErrTooPrecise, "amount %q has %d fractional digits but %s allows at most %d", s, len(fracPart), cur, scale)
	}

	// Minor units are the integer digits followed by the fractional digits
	// padded with zeros to the currency's scale.
	digits := intPart + fracPart + strings.Repeat("0", scale-len(fracPart))
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		// Syntax was validated above, so the only possible failure is range.
		return 0, newError(ErrAmountTooLarge, "amount %q is too large for %s", s, cur)
	}
	return v, nil
}

// splitDecimal splits a plain unsigned decimal ("123", "123.45") into its
// integer and fractional digit strings. ok is false for anything else.
func splitDecimal(s string) (intPart, fracPart string, ok bool) {
	intPart, fracPart, hasPoint := strings.Cut(s, ".")
	if intPart == "" || !isASCIIDigits(intPart) {
		return "", "", false
	}
	if hasPoint && (fracPart == "" || !isASCIIDigits(fracPart)) {
		return "", "", false
	}
	return intPart, fracPart, true
}

// FormatAmount renders minor units as a plain decimal string with exactly
// Scale(currency) fractional digits: (125000,"USD") -> "1250.00",
// (5,"JPY") -> "5", (-150,"USD") -> "-1.50", (1234,"BHD") -> "1.234".
// The output of FormatAmount for a non-negative amount is accepted by
// ParseAmount. An invalid currency code is rendered with no fractional digits.
func FormatAmount(minor int64, currencyCode string) string {
	neg, intDigits, fracDigits := split(minor, currencyCode)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	b.WriteString(intDigits)
	if fracDigits != "" {
		b.WriteByte('.')
		b.WriteString(fracDigits)
	}
	return b.String()
}

// Display renders an amount for humans (en locale) with the currency code as
// prefix and thousands separators: (125000,"USD") -> "USD 1,250.00",
// (1500,"JPY") -> "JPY 1,500", (-150,"USD") -> "USD -1.50".
// The code is normalised to upper case when valid and shown as given otherwise.
func Display(minor int64, currencyCode string) string {
	code := currencyCode
	if norm, err := Currency(currencyCode); err == nil {
		code = norm
	}
	neg, intDigits, fracDigits := split(minor, currencyCode)
	var b strings.Builder
	b.WriteString(code)
	b.WriteByte(' ')
	if neg {
		b.WriteByte('-')
	}
	for i := 0; i < len(intDigits); i++ {
		if i > 0 && (len(intDigits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(intDigits[i])
	}
	if fracDigits != "" {
		b.WriteByte('.')
		b.WriteString(fracDigits)
	}
	return b.String()
}

// split returns the sign and the integer and fractional digit strings of
// minor units in the given currency. It handles math.MinInt64.
func split(minor int64, currencyCode string) (neg bool, intDigits, fracDigits string) {
	scale := max(Scale(currencyCode), 0)
	mag := uint64(minor)
	if minor < 0 {
		neg = true
		mag = -mag // two's complement magnitude, correct for MinInt64 too
	}
	digits := strconv.FormatUint(mag, 10)
	if len(digits) <= scale {
		digits = strings.Repeat("0", scale-len(digits)+1) + digits
	}
	cut := len(digits) - scale
	return neg, digits[:cut], digits[cut:]
}

func isASCIIDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // fold ASCII upper case to lower case
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}
