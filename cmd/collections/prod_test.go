package main

import (
	"strings"
	"testing"
)

func TestUIURLTakesHTTPBaseURLsAndNamesTheSettingOtherwise(t *testing.T) {
	for in, want := range map[string]string{"": "", "http://localhost:8233": "http://localhost:8233",
		"https://temporal.example.com/": "https://temporal.example.com"} {
		if got, err := uiURL(in); err != nil || got != want {
			t.Errorf("uiURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"localhost:8233", "ftp://ui.test", "http://", "::"} {
		if _, err := uiURL(bad); err == nil || !strings.Contains(err.Error(), "TEMPORAL_UI_URL") {
			t.Errorf("uiURL(%q): err = %v, want one naming TEMPORAL_UI_URL", bad, err)
		}
	}
}
