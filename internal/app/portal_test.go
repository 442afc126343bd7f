package app

import (
	"strings"
	"testing"

	"github.com/collections-engine/collections/internal/portallink"
)

// Keys without a base URL, or bad keys, stop the process at start naming
// the setting; no keys is no portal.
func TestPortalLinksSettings(t *testing.T) {
	key := portallink.Key{ID: "k1", Secret: []byte(strings.Repeat("s", 32))}
	if l, err := portalLinks(PortalConfig{}); l != nil || err != nil {
		t.Fatalf("no keys: %v %v", l, err)
	}
	if _, err := portalLinks(PortalConfig{Keys: []portallink.Key{key}}); err == nil || !strings.HasPrefix(err.Error(), "PORTAL_BASE_URL:") {
		t.Fatalf("keys without a base URL: %v", err)
	}
	if _, err := portalLinks(PortalConfig{Keys: []portallink.Key{{ID: "k1", Secret: []byte("short")}}, BaseURL: "https://x"}); err == nil ||
		!strings.HasPrefix(err.Error(), "PORTAL_LINK_KEYS:") {
		t.Fatalf("a short secret: %v", err)
	}
	l, err := portalLinks(PortalConfig{Keys: []portallink.Key{key}, BaseURL: "https://pay.example.com/portal/"})
	if err != nil || l.URL("t") != "https://pay.example.com/portal/t" {
		t.Fatalf("%+v %v", l, err)
	}
}
