package documents

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readPDF checks that b is a well-formed PDF as far as a reader needs to
// open it — header, trailer, a cross-reference table whose every offset
// lands on the object it names — and returns the text its pages show,
// read from the (Flate-compressed) content streams, one string per text
// operator, in order.
func readPDF(t *testing.T, b []byte) []string {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-1.")) {
		t.Fatalf("no PDF header: %q", b[:min(len(b), 16)])
	}
	if !bytes.HasSuffix(bytes.TrimSpace(b), []byte("%%EOF")) {
		t.Fatal("no end-of-file marker at the end")
	}
	m := regexp.MustCompile(`startxref\s+(\d+)\s+%%EOF\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no startxref")
	}
	at, _ := strconv.Atoi(string(m[1]))
	if at >= len(b) || !bytes.HasPrefix(b[at:], []byte("xref")) {
		t.Fatalf("startxref %d does not point at the xref table", at)
	}
	head := regexp.MustCompile(`^xref\s+(\d+)\s+(\d+)\s+`).FindSubmatch(b[at:])
	if head == nil {
		t.Fatal("unreadable xref table")
	}
	first, _ := strconv.Atoi(string(head[1]))
	count, _ := strconv.Atoi(string(head[2]))
	entries := b[at+len(head[0]):]
	objects := 0
	for i := range count {
		if len(entries) < 20*(i+1) {
			t.Fatalf("xref table has fewer than %d entries", count)
		}
		e := entries[20*i : 20*i+18]
		if e[17] != 'n' {
			continue
		}
		off, err := strconv.Atoi(string(e[:10]))
		if err != nil || off >= len(b) {
			t.Fatalf("xref entry %d: bad offset %q", first+i, e[:10])
		}
		want := strconv.Itoa(first+i) + " 0 obj"
		if !bytes.HasPrefix(b[off:], []byte(want)) {
			t.Fatalf("xref entry %d points at %q, not %q", first+i, b[off:min(off+12, len(b))], want)
		}
		objects++
	}
	if objects < 3 {
		t.Fatalf("only %d objects", objects)
	}
	var text []string
	streams := regexp.MustCompile(`(?s)stream\r?\n(.*?)\r?\nendstream`).FindAllSubmatch(b, -1)
	tj := regexp.MustCompile(`\(((?:\\.|[^\\)])*)\)\s*Tj`)
	for _, s := range streams {
		content := s[1]
		if r, err := zlib.NewReader(bytes.NewReader(content)); err == nil {
			if plain, err := io.ReadAll(r); err == nil {
				content = plain
			}
		}
		for _, m := range tj.FindAllSubmatch(content, -1) {
			text = append(text, unescapePDF(string(m[1])))
		}
	}
	return text
}

func unescapePDF(s string) string {
	r := strings.NewReplacer(`\\`, `\`, `\(`, `(`, `\)`, `)`, `\r`, "\r", `\n`, "\n")
	return r.Replace(s)
}

// shows says whether a text operator of the document shows s (the whole
// cell, or a part of it).
func shows(text []string, s string) bool {
	for _, x := range text {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}
