package api

import (
	"context"

	"github.com/collections-engine/collections/outbound"
)

// checkSubscriptionURL refuses a webhook subscription's URL that is not
// https or whose host resolves to an address deliveries may not reach
// (outbound.Allowed.CheckURL), naming the field.
func checkSubscriptionURL(ctx context.Context, raw string) error {
	allowed, err := outbound.AllowedFromEnv()
	if err != nil {
		return err
	}
	if err := allowed.CheckURL(ctx, raw); err != nil {
		return invalid("url", "%v", err)
	}
	return nil
}
