// Package credit decides credit applications: a scoring model over what we
// know of the applicant, behind a Scorer interface a third-party bureau
// adapter can implement too, and the bounds inside which a decision is
// taken automatically. Everything but InternalScorer is pure and
// deterministic, so the credit-decision workflow may call it.
package credit

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/collections-engine/collections/money"
)

// Application is what a Scorer is asked to score.
type Application struct {
	ApplicationID string
	CustomerID    string
	// NewCustomer is true when the customer was created by this
	// application: there is no relationship to look at.
	NewCustomer         bool
	RequestedLimitMinor int64
	Currency            string
	TermsDays           int
	TradeReferences     int
}

// Result is a score from 0 to 100 with the reasons behind it, one per
// factor, and the inputs it was computed from.
type Result struct {
	Score   int      `json:"score"`
	Reasons []string `json:"reasons"`
	Inputs  Inputs   `json:"inputs"`
	Source  string   `json:"source"` // "internal", or the bureau's name
}

// Scorer scores an application. InternalScorer reads our own data; a credit
// bureau's adapter implements the same interface (and may combine its
// result with ours).
type Scorer interface {
	Score(ctx context.Context, app Application) (Result, error)
}

// Inputs are the facts the model scores.
type Inputs struct {
	// SettledInvoices is how many of the customer's invoices were paid in
	// full; OnTimePercent is the share of them settled on or before the due
	// date (0–100, rounded down); AvgDaysLate the average whole days after
	// the due date that they were settled (on-time ones count 0).
	SettledInvoices int `json:"settled_invoices"`
	OnTimePercent   int `json:"on_time_percent"`
	AvgDaysLate     int `json:"avg_days_late"`
	// ExposureMinor is the open balance the customer owes today in the
	// application's currency; ExposurePercent is it as a share of the
	// requested limit (rounded up).
	ExposureMinor   int64 `json:"exposure_minor"`
	ExposurePercent int64 `json:"exposure_percent"`
	// MonthsAsCustomer is whole months since the customer was created;
	// NewApplicant is true when the application created the customer or
	// the relationship is younger than a month.
	MonthsAsCustomer int  `json:"months_as_customer"`
	NewApplicant     bool `json:"new_applicant"`
	TradeReferences  int  `json:"trade_references"`
}

// Band gives Points to a value at or above (age) or at or below (exposure)
// its threshold; the first matching band wins.
type Band struct {
	Threshold int64
	Points    int
}

// Model is the scoring model as data: the points each factor earns. The
// maximum score is OnTimePoints + ExposureBands[0] + AgeBands[0] +
// ReferencePoints × MaxReferences = 40 + 20 + 25 + 15 = 100 with
// DefaultModel; the score is clamped to 0–100.
type Model struct {
	// OnTimePoints × the on-time share (rounded down) for a customer with
	// settled invoices; NoHistoryPoints for one without.
	OnTimePoints    int
	NoHistoryPoints int
	// LatePointsPerDay are taken off per average day late, at most LateCap.
	LatePointsPerDay int
	LateCap          int
	// ExposureBands by current exposure as a percentage of the requested
	// limit, "at or below Threshold %"; above every band: 0.
	ExposureBands []Band
	// AgeBands by whole months as a customer, "at least Threshold";
	// below every band (a new applicant): 0.
	AgeBands []Band
	// ReferencePoints per trade reference, counting at most MaxReferences.
	ReferencePoints int
	MaxReferences   int
}

// DefaultModel is the model InternalScorer uses unless told otherwise.
var DefaultModel = Model{
	OnTimePoints: 40, NoHistoryPoints: 15,
	LatePointsPerDay: 1, LateCap: 20,
	ExposureBands:   []Band{{25, 20}, {50, 15}, {100, 5}},
	AgeBands:        []Band{{24, 25}, {12, 18}, {6, 12}, {1, 5}},
	ReferencePoints: 5, MaxReferences: 3,
}

// Score applies the model to the inputs.
func (m Model) Score(in Inputs) Result {
	score := 0
	var reasons []string
	add := func(points int, format string, args ...any) {
		score += points
		reasons = append(reasons, fmt.Sprintf("%s: %+d", fmt.Sprintf(format, args...), points))
	}
	if in.SettledInvoices == 0 {
		add(m.NoHistoryPoints, "no payment history")
	} else {
		add(m.OnTimePoints*in.OnTimePercent/100, "%d%% of %d settled invoices paid on time", in.OnTimePercent, in.SettledInvoices)
		if in.AvgDaysLate > 0 {
			add(-min(m.LateCap, in.AvgDaysLate*m.LatePointsPerDay), "settled %d days late on average", in.AvgDaysLate)
		}
	}
	exposure := 0
	for _, b := range m.ExposureBands {
		if in.ExposurePercent <= b.Threshold {
			exposure = b.Points
			break
		}
	}
	add(exposure, "current exposure %d%% of the requested limit", in.ExposurePercent)
	age := 0
	for _, b := range m.AgeBands {
		if int64(in.MonthsAsCustomer) >= b.Threshold {
			age = b.Points
			break
		}
	}
	if in.NewApplicant {
		age = 0
		add(0, "new applicant")
	} else {
		add(age, "customer for %d months", in.MonthsAsCustomer)
	}
	refs := min(in.TradeReferences, m.MaxReferences)
	add(refs*m.ReferencePoints, "%d trade references", in.TradeReferences)
	return Result{Score: max(0, min(100, score)), Reasons: reasons, Inputs: in, Source: "internal"}
}

// Decision kinds.
const (
	Approve = "approve"
	Decline = "decline"
	Review  = "review" // outside the automatic bounds: management decides
)

// Bounds are when a decision is taken without a person: approve when the
// score is at least AutoApproveScore, the requested limit at most the
// currency's AutoApproveLimits entry and the terms at most
// AutoApproveMaxTermsDays; decline when the score is below
// AutoDeclineScore; anything else goes to management.
type Bounds struct {
	AutoApproveScore int `json:"auto_approve_score"`
	// AutoApproveLimits is the largest limit approved automatically, per
	// currency, in minor units; a currency not listed is never approved
	// automatically.
	AutoApproveLimits       map[string]int64 `json:"auto_approve_limits"`
	AutoApproveMaxTermsDays int              `json:"auto_approve_max_terms_days"`
	AutoDeclineScore        int              `json:"auto_decline_score"`
	// ReviewWithin is how long management has to decide before the
	// reviewer is reminded.
	ReviewWithin time.Duration `json:"review_within"`
	// Reviewer decides applications outside the bounds; empty: the
	// customer's account manager (or "management" when it has none).
	Reviewer string `json:"reviewer,omitempty"`
}

// DefaultBounds: approve at 75 or more up to 10,000.00 EUR, USD or GBP on
// terms up to 60 days, decline below 40, two days for management.
func DefaultBounds() Bounds {
	return Bounds{
		AutoApproveScore:        75,
		AutoApproveLimits:       map[string]int64{"EUR": 1000000, "USD": 1000000, "GBP": 1000000},
		AutoApproveMaxTermsDays: 60,
		AutoDeclineScore:        40,
		ReviewWithin:            48 * time.Hour,
	}
}

// Outcome is the automatic decision, or Review with why not.
type Outcome struct {
	Kind   string
	Reason string
}

// Decide applies the bounds to a score.
func (b Bounds) Decide(score int, app Application) Outcome {
	if score < b.AutoDeclineScore {
		return Outcome{Decline, fmt.Sprintf("score %d is below the automatic decline threshold %d", score, b.AutoDeclineScore)}
	}
	if score < b.AutoApproveScore {
		return Outcome{Review, fmt.Sprintf("score %d is between %d and %d", score, b.AutoDeclineScore, b.AutoApproveScore)}
	}
	max, ok := b.AutoApproveLimits[app.Currency]
	switch {
	case !ok:
		return Outcome{Review, fmt.Sprintf("no automatic approval limit for %s", app.Currency)}
	case app.RequestedLimitMinor > max:
		return Outcome{Review, fmt.Sprintf("requested limit %s is above the automatic approval limit %s",
			money.Display(app.RequestedLimitMinor, app.Currency), money.Display(max, app.Currency))}
	case app.TermsDays > b.AutoApproveMaxTermsDays:
		return Outcome{Review, fmt.Sprintf("requested terms of %d days are longer than %d", app.TermsDays, b.AutoApproveMaxTermsDays)}
	}
	return Outcome{Approve, fmt.Sprintf("score %d, limit and terms inside the automatic bounds", score)}
}

// Environment variables read by BoundsFromEnv.
const (
	EnvAutoApproveScore  = "CREDIT_AUTO_APPROVE_SCORE"
	EnvAutoApproveLimits = "CREDIT_AUTO_APPROVE_LIMITS" // EUR:10000.00,USD:5000.00
	EnvAutoApproveTerms  = "CREDIT_AUTO_APPROVE_MAX_TERMS_DAYS"
	EnvAutoDeclineScore  = "CREDIT_AUTO_DECLINE_SCORE"
	EnvReviewWithin      = "CREDIT_REVIEW_WITHIN" // a Go duration: 48h
	EnvReviewer          = "CREDIT_REVIEWER"
)

// BoundsFromEnv reads the bounds from the environment, defaulting each
// unset value to DefaultBounds'.
func BoundsFromEnv(getenv func(string) string) (Bounds, error) {
	b := DefaultBounds()
	atoi := func(name string, dst *int, lo, hi int) error {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%s: %q is not a whole number from %d to %d", name, v, lo, hi)
		}
		*dst = n
		return nil
	}
	if err := atoi(EnvAutoApproveScore, &b.AutoApproveScore, 0, 101); err != nil {
		return b, err
	}
	if err := atoi(EnvAutoDeclineScore, &b.AutoDeclineScore, 0, 101); err != nil {
		return b, err
	}
	if err := atoi(EnvAutoApproveTerms, &b.AutoApproveMaxTermsDays, 0, 365); err != nil {
		return b, err
	}
	if v := strings.TrimSpace(getenv(EnvAutoApproveLimits)); v != "" {
		limits, err := ParseLimits(v)
		if err != nil {
			return b, fmt.Errorf("%s: %w", EnvAutoApproveLimits, err)
		}
		b.AutoApproveLimits = limits
	}
	if v := strings.TrimSpace(getenv(EnvReviewWithin)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return b, fmt.Errorf("%s: %q is not a positive duration such as 48h", EnvReviewWithin, v)
		}
		b.ReviewWithin = d
	}
	b.Reviewer = strings.TrimSpace(getenv(EnvReviewer))
	if b.AutoDeclineScore > b.AutoApproveScore {
		return b, fmt.Errorf("%s (%d) is above %s (%d)", EnvAutoDeclineScore, b.AutoDeclineScore, EnvAutoApproveScore, b.AutoApproveScore)
	}
	return b, nil
}

// ParseLimits reads "EUR:10000.00,USD:5000" into minor units per currency.
func ParseLimits(s string) (map[string]int64, error) {
	out := map[string]int64{}
	for part := range strings.SplitSeq(s, ",") {
		cur, amount, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("%q: want CURRENCY:AMOUNT", part)
		}
		code, err := money.Currency(strings.TrimSpace(cur))
		if err != nil {
			return nil, err
		}
		minor, err := money.ParseAmount(strings.TrimSpace(amount), code)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", code, err)
		}
		out[code] = minor
	}
	return out, nil
}

// FormatLimits is the inverse of ParseLimits, sorted by currency.
func FormatLimits(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + money.FormatAmount(m[k], k)
	}
	return strings.Join(parts, ",")
}
