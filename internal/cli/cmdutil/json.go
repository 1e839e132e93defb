package cmdutil

import (
	"bufio"
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"unicode"
)

// WriteJSON writes v to w byte for byte as a json.Encoder with
// SetIndent("", "  ") does, but streams the elements of a top-level slice,
// and of the slice fields of a top-level struct, one at a time through a
// buffer. The Encoder builds the whole compact text and then an indented
// copy: for an upload result listing 100,000 files that is tens of
// megabytes, and the largest cost of a cached re-run after the scan.
//
// A value this does not lay out itself (a struct with embedded fields, tag
// options other than omitempty, unusual or repeated member names; a type
// with its own MarshalJSON or MarshalText) is written by the Encoder. On
// an error, part of the output may have been written.
func WriteJSON(w io.Writer, v any) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := writeTop(bw, v); err != nil {
		return err
	}
	return bw.Flush()
}

func writeTop(w *bufio.Writer, orig any) error {
	v := reflect.ValueOf(orig)
	for v.IsValid() && v.Kind() == reflect.Pointer && !v.IsNil() && !customJSON(v.Type()) {
		v = v.Elem()
	}
	switch {
	case !v.IsValid() || customJSON(v.Type()):
	case streamable(v):
		if err := writeElems(w, v, ""); err != nil {
			return err
		}
		_, err := w.WriteString("\n")
		return err
	case v.Kind() == reflect.Struct:
		if fields, ok := plainFields(v.Type()); ok {
			return writeStruct(w, v, fields, nil)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(orig)
}

// field is one member of a plain struct, as encoding/json names it.
type field struct {
	index     int
	name      string
	omitEmpty bool
}

// plainFields lists the JSON members of struct type t, or reports false
// when t uses a feature WriteJSON leaves to encoding/json.
func plainFields(t reflect.Type) ([]field, bool) {
	var out []field
	seen := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return nil, false
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if opts != "" && opts != "omitempty" {
			return nil, false
		}
		if name == "" {
			name = sf.Name
		}
		if seen[name] || strings.IndexFunc(name, unusual) >= 0 {
			return nil, false // encoding/json's rules for these are its own
		}
		seen[name] = true
		out = append(out, field{index: i, name: name, omitEmpty: opts == "omitempty"})
	}
	return out, true
}

// writeStruct writes struct v's fields; a member named in lists is written
// from its JSONList.
func writeStruct(w *bufio.Writer, v reflect.Value, fields []field, lists map[string]*JSONList) error {
	in := newIndenter("  ")
	first := true
	for _, f := range fields {
		fv := v.Field(f.index)
		list := lists[f.name]
		if list == nil && f.omitEmpty && isEmpty(fv) {
			continue
		}
		sep := ",\n  "
		if first {
			sep, first = "{\n  ", false
		}
		name, err := json.Marshal(f.name)
		if err != nil {
			return err
		}
		w.WriteString(sep)
		w.Write(name)
		w.WriteString(": ")
		switch {
		case list != nil:
			err = list.writeTo(w)
		case streamable(fv):
			err = writeElems(w, fv, "  ")
		default:
			err = in.write(w, asEncoded(fv))
		}
		if err != nil {
			return err
		}
	}
	if first {
		_, err := w.WriteString("{}\n")
		return err
	}
	_, err := w.WriteString("\n}\n")
	return err
}

// writeElems writes the non-empty slice v as an indented array whose
// opening bracket is already at indentation prefix.
func writeElems(w *bufio.Writer, v reflect.Value, prefix string) error {
	in := newIndenter(prefix + "  ")
	w.WriteString("[")
	for i := range v.Len() {
		if i > 0 {
			w.WriteString(",")
		}
		w.WriteString("\n" + prefix + "  ")
		if err := in.write(w, asEncoded(v.Index(i))); err != nil {
			return err
		}
	}
	_, err := w.WriteString("\n" + prefix + "]")
	return err
}

// indenter writes values indented as if each started at its prefix,
// reusing one buffer and Encoder (which keeps its indentation buffer).
type indenter struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newIndenter(prefix string) *indenter {
	in := &indenter{}
	in.enc = json.NewEncoder(&in.buf)
	in.enc.SetIndent(prefix, "  ")
	return in
}

func (in *indenter) write(w io.Writer, v any) error {
	in.buf.Reset()
	if err := in.enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(bytes.TrimSuffix(in.buf.Bytes(), []byte("\n")))
	return err
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// asEncoded returns v for the Encoder as encoding/json sees it inside its
// container: through its address when it has one, so that MarshalJSON and
// MarshalText methods on the pointer are used as encoding/json uses them.
func asEncoded(v reflect.Value) any {
	if v.CanAddr() {
		return v.Addr().Interface()
	}
	return v.Interface()
}

// unusual reports a rune outside letters, digits, '_' and '-' in a member
// name.
func unusual(r rune) bool {
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-'
}

// streamable reports whether v is a non-empty slice that encoding/json
// writes as an array (not []byte, which it writes as base64).
func streamable(v reflect.Value) bool {
	return v.Kind() == reflect.Slice && v.Len() > 0 && v.Type().Elem().Kind() != reflect.Uint8 && !customJSON(v.Type())
}

// customJSON reports whether t (or *t) lays itself out.
func customJSON(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) || pt.Implements(jsonMarshaler) || pt.Implements(textMarshaler)
}

// isEmpty is encoding/json's omitempty test.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// JSONList collects the elements of one array member of a JSON object in a
// temporary file, laid out as WriteJSON lays out an array member of a
// top-level struct, so that a command can write a result whose lists are
// too long to hold in memory: Add each element as it is produced, then
// WriteJSONLists. Its memory is one buffer, whatever the number of
// elements. Close removes the file.
type JSONList struct {
	f   *os.File
	w   *bufio.Writer
	in  *indenter
	n   int
	err error
}

// NewJSONList creates an empty list backed by a temporary file in dir (the
// system's temporary folder when "").
func NewJSONList(dir string) (*JSONList, error) {
	f, err := os.CreateTemp(dir, "goimmich-list-*.json")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary file for the JSON output: %w (set TMPDIR to a writable folder)", err)
	}
	return &JSONList{f: f, w: bufio.NewWriterSize(f, 64<<10), in: newIndenter("    ")}, nil
}

// Add appends v's JSON to the list. After an error, Add does nothing and
// WriteJSONLists returns that error.
func (l *JSONList) Add(v any) error {
	if l.err != nil {
		return l.err
	}
	sep := ",\n    "
	if l.n == 0 {
		sep = "\n    "
	}
	l.w.WriteString(sep)
	if err := l.in.write(l.w, v); err != nil {
		l.err = err
		return err
	}
	l.n++
	return nil
}

// Len is the number of elements added.
func (l *JSONList) Len() int { return l.n }

// Close removes the list's file.
func (l *JSONList) Close() error {
	err := l.f.Close()
	if rmErr := os.Remove(l.f.Name()); err == nil {
		err = rmErr
	}
	return err
}

// writeTo writes the list as the member's value: "[]" when empty.
func (l *JSONList) writeTo(w *bufio.Writer) error {
	if l.err != nil {
		return l.err
	}
	if l.n == 0 {
		_, err := w.WriteString("[]")
		return err
	}
	if err := l.w.Flush(); err != nil {
		return err
	}
	if _, err := l.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	w.WriteString("[")
	if _, err := io.Copy(w, l.f); err != nil {
		return err
	}
	_, err := w.WriteString("\n  ]")
	return err
}

// WriteJSONLists writes the struct v (or pointer to one) as WriteJSON
// does, except that each member named in lists is written from its
// JSONList instead of v's field (always, even when the list is empty and
// the field has omitempty). v must be a struct WriteJSON lays out itself
// (plain fields, no custom marshalling).
func WriteJSONLists(w io.Writer, v any, lists map[string]*JSONList) error {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct || customJSON(rv.Type()) {
		return fmt.Errorf("cmdutil: WriteJSONLists needs a struct, not %T", v)
	}
	fields, ok := plainFields(rv.Type())
	if !ok {
		return fmt.Errorf("cmdutil: WriteJSONLists cannot lay out %T", v)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := writeStruct(bw, rv, fields, lists); err != nil {
		return err
	}
	return bw.Flush()
}
