// Package apicmd is "goimmich api": one subcommand for every operation of
// the pinned Immich OpenAPI spec, built at run time from the generated table
// in operations.gen.go (see internal/gen/apicmd).
//
// Path, query and header parameters become flags (path parameters may also
// be given as arguments, in path order); a JSON request body comes from
// --data (JSON text, @file, or - for standard input); multipart and form
// bodies from --field name=value and --field name=@file. A JSON answer is
// printed pretty on standard output; a binary answer goes to --output FILE
// (or - for standard output), written to a temporary file in the same folder
// and renamed when complete, never over an existing file without --force.
//
// Requests are built with wrapper.Client.NewRequest and sent with its Do,
// so they have the credentials, retries and errors of every other call of
// the library.
package apicmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/goimmich/goimmich/internal/cli/cmdutil"
	"github.com/goimmich/goimmich/internal/cli/config"
	"github.com/goimmich/goimmich/internal/cli/iostreams"
	"github.com/goimmich/goimmich/wrapper"
)

// operation is one Immich API operation (generated).
type operation struct {
	ID, Method, Path, Tag string
	Summary, Description  string
	Deprecated            bool
	Public                bool   // needs no credentials
	Body                  string // "", "json", "multipart" or "form"
	BodyRequired          bool
	BodySchema            string   // the body's schema (component name)
	BodyFields            []string // its top-level fields, "*" after required ones
	ResponseType          string
	Binary                bool // a 2xx answer is not JSON
	Params                []param
}

// param is one path, query or header parameter (generated).
type param struct {
	Name, In, Type, Format string
	Required, Array        bool
	Default                string
	Enum                   []string
	Description            string
}

// Count is the number of operations, for tests and "api --list".
func Count() int { return len(operations) }

// reserved are flag names of "api" itself and of the root command; a
// parameter with such a name gets its location as prefix (--query-key).
var reserved = map[string]bool{
	"data": true, "output": true, "force": true, "field": true, "help": true,
	"key": true, "url": true, "profile": true, "list": true, "raw": true,
}

// flagName is the flag of parameter p: kebab-case of its name.
func (p param) flagName() string {
	n := kebab(p.Name)
	if reserved[n] {
		n = strings.ToLower(p.In) + "-" + n
	}
	return n
}

// kebab turns "albumId" into "album-id" and "x-immich-checksum" into itself.
func kebab(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 && s[i-1] != '-' && s[i-1] != '_' {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		if r == '_' {
			r = '-'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Options is one run of an api operation.
type Options struct {
	IO *iostreams.IOStreams
	// Client returns the client to send with.
	Client func() (*wrapper.Client, error)

	Op *operation
	// Params holds the given parameter values by parameter name (arrays
	// hold several).
	Params map[string][]string
	Data   string
	Fields []string
	Output string
	Force  bool
	Raw    bool
}

// ListOptions is one run of "api --list".
type ListOptions struct {
	IO *iostreams.IOStreams
}

// NewCmdAPI returns the "api" command with one subcommand per operation.
// runF, when set, replaces apiRun (tests).
func NewCmdAPI(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	var list bool
	cmd := &cobra.Command{
		Use:   "api <operationId> [flags]",
		Short: fmt.Sprintf("Call any of the %d Immich API operations", len(operations)),
		Long: fmt.Sprintf(`Call any operation of the Immich %s API by its operationId.

Path, query and header parameters are flags (path parameters may also be
given as arguments). A JSON request body comes from --data: JSON text,
@FILE, or - for standard input. Multipart and form bodies come from
--field name=value and --field name=@FILE. JSON answers are printed
indented; binary answers need --output FILE (or --output - for standard
output) and never overwrite a file without --force.

"goimmich api --list" lists every operation with its method and path.`, ImmichVersion),
		Example: `  goimmich api getServerVersion
  goimmich api getAlbumInfo --id 4f1b…
  goimmich api createAlbum --data '{"albumName":"Trip"}'
  goimmich api searchAssets --data @query.json
  goimmich api downloadAsset --id 4f1b… --output photo.jpg`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if list {
				return listRun(&ListOptions{IO: f.IOStreams})
			}
			return cmd.Help()
		},
	}
	cmd.Flags().BoolVar(&list, "list", false, "List every operationId with its method and path")

	tags := map[string]bool{}
	for i := range operations {
		tags[operations[i].Tag] = true
	}
	for _, t := range slices.Sorted(maps.Keys(tags)) {
		cmd.AddGroup(&cobra.Group{ID: t, Title: t + ":"})
	}
	for i := range operations {
		cmd.AddCommand(newCmdOperation(f, &operations[i], runF))
	}
	return cmd
}

func newCmdOperation(f *cmdutil.Factory, op *operation, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IOStreams, Op: op, Params: map[string][]string{}}
	opts.Client = func() (*wrapper.Client, error) {
		c, creds, err := f.Client()
		if err != nil && op.Public && errors.Is(err, config.ErrNoCredentials) && creds.URL != "" && creds.Key == "" {
			// A public operation needs only the server's URL.
			return f.NewClientWithoutKey(creds.URL)
		}
		return c, err
	}
	pathParams := op.pathParams()
	use := op.ID
	for _, p := range pathParams {
		use += " [" + p.Name + "]"
	}
	cmd := &cobra.Command{
		Use:     use,
		Short:   op.Summary,
		Long:    op.long(),
		GroupID: op.Tag,
		Args:    cobra.MaximumNArgs(len(pathParams)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.parseParams(cmd, args, pathParams); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return apiRun(cmd.Context(), opts)
		},
	}
	op.addParamFlags(cmd)
	fl := cmd.Flags()
	if op.Body == "json" {
		fl.StringVarP(&opts.Data, "data", "d", "", "Request body: JSON text, @FILE, or - for standard input")
	}
	if op.Body == "multipart" || op.Body == "form" {
		fl.StringArrayVarP(&opts.Fields, "field", "F", nil, "Body field name=value, or name=@FILE for a file (repeatable)")
	}
	fl.StringVarP(&opts.Output, "output", "o", "", "Write the answer to FILE (- for standard output); required for binary answers")
	fl.BoolVar(&opts.Force, "force", false, "Overwrite the --output file if it exists")
	fl.BoolVar(&opts.Raw, "raw", false, "Print JSON answers as the server sent them, not indented")
	return cmd
}

// pathParams returns op's path parameters, in path order.
func (op *operation) pathParams() []param {
	var ps []param
	for _, p := range op.Params {
		if p.In == "path" {
			ps = append(ps, p)
		}
	}
	return ps
}

// long is the help text of op's command.
func (op *operation) long() string {
	long := op.Description
	if long == "" {
		long = op.Summary
	}
	long += fmt.Sprintf("\n\n%s %s", op.Method, op.Path)
	if op.Deprecated {
		long += "\n\nDeprecated by Immich."
	}
	if op.Public {
		long += "\n\nPublic: needs only the server URL, no API key."
	}
	switch op.Body {
	case "json":
		long += "\n\nRequest body: JSON"
		if op.BodySchema != "" {
			long += " (" + op.BodySchema + ")"
		}
		long += ", from --data."
	case "multipart", "form":
		long += "\n\nRequest body: " + op.Body + " fields, from --field name=value or --field name=@FILE."
	}
	if len(op.BodyFields) > 0 {
		long += "\nFields (* required): " + strings.Join(op.BodyFields, ", ") + "."
	}
	if op.Binary {
		long += "\n\nThe answer is binary (" + op.ResponseType + "): give --output FILE, or --output - for standard output."
	}
	return long
}

// addParamFlags adds a flag for each parameter of op.
func (op *operation) addParamFlags(cmd *cobra.Command) {
	fl := cmd.Flags()
	for _, p := range op.Params {
		usage := p.Description
		if usage == "" {
			usage = p.Name
		}
		usage += " (" + p.In
		if p.Required {
			usage += ", required"
		}
		usage += ")"
		if len(p.Enum) > 0 {
			usage += " one of: " + strings.Join(p.Enum, ", ")
		}
		if p.Default != "" {
			usage += " [server default " + p.Default + "]"
		}
		switch {
		case p.Array:
			fl.StringSlice(p.flagName(), nil, usage)
		case p.Type == "boolean":
			fl.Bool(p.flagName(), false, usage)
		default:
			fl.String(p.flagName(), "", usage)
		}
		if len(p.Enum) > 0 {
			_ = cmd.RegisterFlagCompletionFunc(p.flagName(), cobra.FixedCompletions(p.Enum, cobra.ShellCompDirectiveNoFileComp))
		}
	}
}

// parseParams fills opts.Params from the path arguments and the parameter
// flags that were given.
func (opts *Options) parseParams(cmd *cobra.Command, args []string, pathParams []param) error {
	for i, a := range args {
		p := pathParams[i]
		if cmd.Flags().Changed(p.flagName()) {
			return cmdutil.FlagErrorf("path parameter %s given both as argument and as --%s", p.Name, p.flagName())
		}
		opts.Params[p.Name] = []string{a}
	}
	for _, p := range opts.Op.Params {
		fl := cmd.Flags().Lookup(p.flagName())
		if fl == nil || !fl.Changed {
			continue
		}
		if p.Array {
			v, _ := cmd.Flags().GetStringSlice(p.flagName())
			opts.Params[p.Name] = v
		} else {
			opts.Params[p.Name] = []string{fl.Value.String()}
		}
	}
	return nil
}

// listRun prints every operation: operationId, method, path.
func listRun(opts *ListOptions) error {
	w := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	for _, op := range operations {
		fmt.Fprintf(w, "%s\t%s\t%s\n", op.ID, op.Method, op.Path)
	}
	return w.Flush()
}

// apiRun sends the operation and writes the answer.
func apiRun(ctx context.Context, opts *Options) error {
	op := opts.Op
	if ctx == nil {
		ctx = context.Background()
	}
	// Check everything local before talking to the server.
	for _, p := range op.Params {
		vals, ok := opts.Params[p.Name]
		if !ok || len(vals) == 0 {
			if p.Required {
				return cmdutil.FlagErrorf("missing required %s parameter --%s", p.In, p.flagName())
			}
			continue
		}
		for _, v := range vals {
			if err := p.check(v); err != nil {
				return cmdutil.FlagErrorf("--%s: %v", p.flagName(), err)
			}
		}
	}
	if op.Binary && opts.Output == "" {
		return cmdutil.FlagErrorf("%s answers with binary data (%s): give --output FILE, or --output - for standard output", op.ID, op.ResponseType)
	}
	if opts.Output != "" && opts.Output != "-" && !opts.Force {
		if _, err := os.Lstat(opts.Output); err == nil {
			return cmdutil.FlagErrorf("%s already exists; give --force to overwrite it, or another --output", opts.Output)
		}
	}
	body, contentType, err := requestBody(opts)
	if err != nil {
		return err
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	req, err := newRequest(ctx, c, op, opts.Params, body, contentType)
	if err != nil {
		return err
	}
	resp, err := c.Do(req, op.ID)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return writeAnswer(opts, resp)
}

// check validates one value of p locally, so that a typo gives a clear
// message instead of a server 400.
func (p param) check(v string) error {
	switch p.Type {
	case "integer":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
	case "number":
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
	case "boolean":
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
	}
	if p.In == "path" && (strings.Contains(v, "/") || v == "." || v == "..") {
		return fmt.Errorf("%q: a path parameter cannot hold a slash or be a dot segment", v)
	}
	if p.Format == "uuid" {
		if _, err := uuid.Parse(v); err != nil {
			return fmt.Errorf("%q is not a UUID", v)
		}
	}
	if len(p.Enum) > 0 {
		for _, e := range p.Enum {
			if v == e {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of: %s", v, strings.Join(p.Enum, ", "))
	}
	return nil
}

// bodySource is a request body that can be opened again for a retry.
type bodySource struct {
	open func() (io.ReadCloser, error)
	size int64 // -1 when unknown
}

// requestBody builds the body from --data or --field.
func requestBody(opts *Options) (*bodySource, string, error) {
	op := opts.Op
	switch op.Body {
	case "json":
		if opts.Data == "" {
			if op.BodyRequired {
				return nil, "", cmdutil.FlagErrorf("%s needs a JSON request body: give --data JSON, --data @FILE or --data - (standard input)", op.ID)
			}
			return nil, "", nil
		}
		raw, src, err := readData(opts)
		if err != nil {
			return nil, "", err
		}
		if !json.Valid(raw) {
			var v any
			err := json.Unmarshal(raw, &v)
			return nil, "", cmdutil.FlagErrorf("the request body from %s is not valid JSON: %v", src, err)
		}
		return &bodySource{open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }, size: int64(len(raw))}, "application/json", nil
	case "multipart":
		if len(opts.Fields) == 0 && op.BodyRequired {
			return nil, "", cmdutil.FlagErrorf("%s needs a multipart body: give --field name=value and --field name=@FILE", op.ID)
		}
		return multipartBody(opts.Fields)
	case "form":
		vals := url.Values{}
		for _, f := range opts.Fields {
			name, value, ok := strings.Cut(f, "=")
			if !ok {
				return nil, "", cmdutil.FlagErrorf("--field %q: want name=value", f)
			}
			vals.Add(name, value)
		}
		raw := []byte(vals.Encode())
		return &bodySource{open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }, size: int64(len(raw))}, "application/x-www-form-urlencoded", nil
	}
	if opts.Data != "" || len(opts.Fields) > 0 {
		return nil, "", cmdutil.FlagErrorf("%s takes no request body", op.ID)
	}
	return nil, "", nil
}

// readData returns the bytes of --data and a description of where they came
// from. A JSON body is small; it is read into memory.
func readData(opts *Options) ([]byte, string, error) {
	return cmdutil.ReadArg(opts.IO.In, "--data", opts.Data)
}

// multipartBody builds a multipart/form-data body whose file parts stream
// from disk, with a known length (so proxies accept it) and re-openable for
// a retry.
func multipartBody(fields []string) (*bodySource, string, error) {
	body := wrapper.NewMultipartBody()
	for _, f := range fields {
		name, value, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, "", cmdutil.FlagErrorf("--field %q: want name=value or name=@FILE", f)
		}
		file, isFile := strings.CutPrefix(value, "@")
		if !isFile {
			if err := body.AddField(name, value); err != nil {
				return nil, "", err
			}
			continue
		}
		st, err := os.Stat(file)
		if err != nil {
			return nil, "", cmdutil.FlagErrorf("--field %s: %v", name, err)
		}
		if !st.Mode().IsRegular() {
			return nil, "", cmdutil.FlagErrorf("--field %s: %s is not a regular file", name, file)
		}
		if err := body.AddFile(name, file, st.Size(), nil); err != nil {
			return nil, "", err
		}
	}
	return &bodySource{open: body.Open, size: body.Len()}, body.ContentType(), nil
}

// newRequest builds the HTTP request of op with params and body, with c's
// credentials.
func newRequest(ctx context.Context, c *wrapper.Client, op *operation, params map[string][]string, body *bodySource, contentType string) (*http.Request, error) {
	path := op.Path
	query := url.Values{}
	header := http.Header{}
	for _, p := range op.Params {
		vals, ok := params[p.Name]
		if !ok {
			continue
		}
		switch p.In {
		case "path":
			path = strings.ReplaceAll(path, "{"+p.Name+"}", vals[0])
		case "query":
			for _, v := range vals {
				query.Add(p.Name, v)
			}
		case "header":
			header.Set(p.Name, vals[0])
		}
	}
	var rd io.ReadCloser
	if body != nil {
		var err error
		if rd, err = body.open(); err != nil {
			return nil, fmt.Errorf("opening the request body: %w", err)
		}
	}
	var r io.Reader
	if rd != nil {
		r = rd
	}
	req, err := c.NewRequest(ctx, op.Method, path, query, r)
	if err != nil {
		if rd != nil {
			rd.Close()
		}
		return nil, err
	}
	if body != nil {
		req.ContentLength = body.size
		req.GetBody = body.open
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json, */*")
	return req, nil
}

func isJSON(ct string) bool {
	ct = strings.ToLower(ct)
	return strings.HasPrefix(ct, "application/json") || strings.Contains(ct, "+json")
}

// writeAnswer prints a JSON answer, or streams any answer to --output.
func writeAnswer(opts *Options, resp *http.Response) error {
	ct := resp.Header.Get("Content-Type")
	json := isJSON(ct)
	switch {
	case opts.Output == "-":
		if json && !opts.Raw {
			return prettyCopy(opts.IO.Out, resp.Body)
		}
		_, err := io.Copy(opts.IO.Out, resp.Body)
		return err
	case opts.Output != "":
		n, err := writeFileSafely(opts.Output, opts.Force, func(w io.Writer) error {
			if json && !opts.Raw {
				return prettyCopy(w, resp.Body)
			}
			_, err := io.Copy(w, resp.Body)
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "wrote %d bytes to %s\n", n, opts.Output)
		return nil
	case json || resp.ContentLength == 0:
		if opts.Raw {
			_, err := io.Copy(opts.IO.Out, resp.Body)
			return err
		}
		return prettyCopy(opts.IO.Out, resp.Body)
	}
	if ct == "" {
		// No content type and some bytes: print text only when it is small JSON.
		return prettyCopy(opts.IO.Out, resp.Body)
	}
	return fmt.Errorf("%s answered %s, not JSON: give --output FILE (or - for standard output)", opts.Op.ID, ct)
}

// prettyCopy indents the JSON of r onto w; an empty body prints nothing. A
// JSON answer is read into memory to indent it.
func prettyCopy(w io.Writer, r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		// Not JSON after all: print as is.
		_, err := w.Write(raw)
		return err
	}
	out.WriteByte('\n')
	_, err = w.Write(out.Bytes())
	return err
}

// writeFileSafely writes through fill into a temporary file next to name and
// gives it the name only when fill succeeded and the bytes are synced.
// Without force an existing name is never replaced (wrapper.PlaceFile); with
// force it is replaced atomically. It returns the bytes written.
func writeFileSafely(name string, force bool, fill func(io.Writer) error) (int64, error) {
	root, err := os.OpenRoot(filepath.Dir(name))
	if err != nil {
		return 0, fmt.Errorf("writing %s: %w", name, err)
	}
	defer root.Close()
	base := filepath.Base(name)
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+base+".*.part")
	if err != nil {
		return 0, fmt.Errorf("creating %s: %w", name, err)
	}
	tmpBase := filepath.Base(tmp.Name())
	defer root.Remove(tmpBase) // fails harmlessly once placed
	cw := &countWriter{w: tmp}
	err = fill(cw)
	if err != nil {
		tmp.Close()
		return 0, fmt.Errorf("writing %s: %w (nothing written under that name)", name, err)
	}
	if err = tmp.Sync(); err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("writing %s: %w", name, err)
	}
	if force {
		err = root.Rename(tmpBase, base)
	} else {
		err = wrapper.PlaceFile(root, tmpBase, base)
	}
	if errors.Is(err, fs.ErrExist) {
		return 0, fmt.Errorf("%s exists; not overwritten (give --force to overwrite)", name)
	}
	if err != nil {
		return 0, fmt.Errorf("writing %s: %w", name, err)
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
