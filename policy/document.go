package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Parse reads a policy document, YAML or JSON, and validates it. Field names
// are those of the JSON form ("final_notice_deadline"); durations are
// strings such as "7d", "-3d" or "36h". Nothing is defaulted: a document
// says everything. A document holds one policy; unknown fields are errors.
// Errors name the field first ("steps[2].offset: ..."), where there is one.
//
// A document that cannot be read returns the zero Policy. One that can be
// read but does not validate returns the policy as read together with
// Validate's error, so that a caller may report or complete it.
func Parse(data []byte) (Policy, error) {
	var j []byte
	if json.Valid(data) {
		// JSON is read as JSON: YAML does not know all of its escapes
		// ("\/", surrogate pairs).
		if err := duplicateKeys(json.NewDecoder(bytes.NewReader(data)), ""); err != nil {
			return Policy{}, err
		}
		j = data
	} else {
		if line := secondDocument(data); line > 0 {
			return Policy{}, fmt.Errorf("line %d: a second YAML document; a file holds one policy", line)
		}
		// Strict: a key given twice is an error, not a silent choice.
		var err error
		if j, err = yaml.YAMLToJSONStrict(data); err != nil {
			return Policy{}, fmt.Errorf("not a YAML or JSON document: %s", oneLine(err.Error()))
		}
	}
	// The shape is checked first, on the generic value, so that every
	// problem names its field: encoding/json names neither an unknown
	// field's parent nor the field whose UnmarshalJSON failed.
	var raw any
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return Policy{}, fmt.Errorf("not a YAML or JSON document: %v", err)
	}
	if raw == nil {
		return Policy{}, errors.New("empty document: a policy needs name, version and steps")
	}
	if err := checkShape("", raw, reflect.TypeFor[Policy]()); err != nil {
		return Policy{}, err
	}
	var p Policy
	dec = json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Policy{}, fmt.Errorf("%s: must be a %s, not a %s", te.Field, te.Type, te.Value)
		}
		return Policy{}, err
	}
	p.normalise()
	return p, p.Validate()
}

// LoadDir parses every *.yaml, *.yml and *.json file in dir (not in its
// subdirectories; not hidden files), in file-name order. An error names the
// file. Two files may not define the same name and version.
func LoadDir(dir string) ([]Policy, error) {
	entries, err := os.ReadDir(dir) // sorted by file name
	if err != nil {
		return nil, err
	}
	var out []Policy
	defined := map[string]string{} // "name@version" -> file
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		switch filepath.Ext(name) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		p, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		key := fmt.Sprintf("%s@%d", p.Name, p.Version)
		if first, ok := defined[key]; ok {
			return nil, fmt.Errorf("%s: policy %q version %d is already defined in %s", path, p.Name, p.Version, first)
		}
		defined[key] = path
		out = append(out, p)
	}
	return out, nil
}

// normalise writes empty lists as absent ones, as they marshal, so that a
// parsed policy equals itself marshalled and parsed again.
func (p *Policy) normalise() {
	for i := range p.Steps {
		if len(p.Steps[i].Channels) == 0 {
			p.Steps[i].Channels = nil
		}
	}
	if len(p.Calendar.Days) == 0 {
		p.Calendar.Days = nil
	}
	if len(p.Calendar.Holidays) == 0 {
		p.Calendar.Holidays = nil
	}
}

var durationType = reflect.TypeFor[Duration]()

// checkShape checks a decoded JSON value (numbers as json.Number) against
// the Go type it will be decoded into, naming the field of the first
// mismatch: unknown fields, lists where a mapping belongs, numbers where a
// string belongs, durations that do not parse. Null is taken as absent,
// except for a duration.
func checkShape(path string, v any, t reflect.Type) error {
	at := func(format string, args ...any) error {
		msg := fmt.Sprintf(format, args...)
		if path == "" {
			return errors.New(msg)
		}
		return fmt.Errorf("%s: %s", path, msg)
	}
	if t == durationType {
		s, ok := v.(string)
		if !ok {
			return at(`write a duration as a string such as "7d", "-3d" or "36h", not %s`, describe(v))
		}
		d, err := ParseDuration(s)
		if err != nil {
			return at("%v", err)
		}
		// Beyond about 290 years a duration overflows and would not
		// survive being written out and read again.
		if back, err := ParseDuration(d.String()); err != nil || back != d {
			return at("duration %q is out of range", s)
		}
		return nil
	}
	if v == nil {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return checkShape(path, v, t.Elem())
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			if path == "" {
				return at("a policy document must be a mapping (name, version, steps, ...), not %s", describe(v))
			}
			return at("must be a mapping, not %s", describe(v))
		}
		names, fields := jsonFields(t)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child := k
			if !plainKey(k) {
				child = strconv.Quote(k)
			}
			if path != "" {
				child = path + "." + child
			}
			f, ok := fields[k]
			if !ok {
				return fmt.Errorf("%s: unknown field (%s)", child, strings.Join(names, ", "))
			}
			if err := checkShape(child, m[k], f); err != nil {
				return err
			}
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return at("must be a list, not %s", describe(v))
		}
		for i, e := range list {
			if err := checkShape(fmt.Sprintf("%s[%d]", path, i), e, t.Elem()); err != nil {
				return err
			}
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			return at("must be a string, not %s (quote it)", describe(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return at("must be true or false, not %s", describe(v))
		}
	case reflect.Int:
		n, ok := v.(json.Number)
		if !ok {
			return at("must be a whole number, not %s", describe(v))
		}
		if _, err := strconv.ParseInt(string(n), 10, strconv.IntSize); err != nil {
			return at("must be a whole number, not %s", n)
		}
	}
	return nil
}

// jsonFields lists a struct's JSON field names, in declaration order, and
// maps each to its type.
func jsonFields(t reflect.Type) ([]string, map[string]reflect.Type) {
	var names []string
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		fields[name] = f.Type
	}
	return names, fields
}

// plainKey reports whether a key can stand unquoted in a field path.
func plainKey(k string) bool {
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return k != ""
}

// describe names a decoded JSON value for an error message.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("the string %q", v)
	case json.Number:
		return "the number " + v.String()
	case bool:
		return fmt.Sprintf("%t", v)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%v", v)
}

// secondDocument returns the line on which a second YAML document starts, or
// 0. A document separator ("---") or end marker ("...") is only recognised
// at the start of a line, where YAML reserves it.
func secondDocument(data []byte) int {
	content, ended := false, false
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, " \t\r")
		switch {
		case line == "---" || strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "---\t"):
			if content {
				return i + 1
			}
			rest := strings.TrimSpace(strings.TrimPrefix(line, "---"))
			content = rest != "" && !strings.HasPrefix(rest, "#")
		case line == "...":
			ended = content
		case line == "" || strings.HasPrefix(strings.TrimSpace(line), "#"):
		case strings.HasPrefix(line, "%") && !content:
			// a directive (%YAML 1.1) before the document
		default:
			if ended {
				return i + 1
			}
			content = true
		}
	}
	return 0
}

// duplicateKeys reads one JSON value and reports a key given twice in an
// object, naming where.
func duplicateKeys(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			child := key
			if path != "" {
				child = path + "." + key
			}
			if seen[key] {
				return fmt.Errorf("%s: given twice", child)
			}
			seen[key] = true
			if err := duplicateKeys(dec, child); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := duplicateKeys(dec, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
	}
	return err
}

// oneLine joins a multi-line YAML error.
func oneLine(s string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, " ")
}
