package documents

import (
	"os"
	"path/filepath"
	"testing"
)

// ReadPDFText and ShowsText let the external tests read a PDF back.
var (
	readPDFTextFn = readPDF
	showsTextFn   = shows
)

func ReadPDFText(t *testing.T, b []byte) []string { return readPDFTextFn(t, b) }
func ShowsText(text []string, s string) bool      { return showsTextFn(text, s) }

// WriteArtifact keeps a rendered document for a person to open, under
// TEST_ARTIFACTS when it is set.
func WriteArtifact(t *testing.T, name string, b []byte) {
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
