package immichtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/goimmich/goimmich/api/apispec"
)

// Default credentials of the user every Server starts with. The user is an
// admin; APIKey returns a key of this user with the "all" permission.
const (
	DefaultEmail    = "admin@immich.test"
	DefaultPassword = "immichtest"
	DefaultName     = "Immich Test"
)

// Server is a fake Immich server on a loopback httptest.Server. Every
// request and every response is checked against an Immich OpenAPI spec; see
// the package documentation for what it implements. It is safe for
// concurrent use.
type Server struct {
	cfg     config
	ts      *httptest.Server
	spec    *openapi3.T
	version [3]int
	done    chan struct{} // closed by Close; ends stalls and latency waits
	router  *router

	closeOnce sync.Once
	bytesIn   atomic.Int64

	mu          sync.Mutex
	faults      Faults
	faultRNG    *faultRand
	counts      map[string]int
	failures    []ValidationFailure
	users       map[uuid.UUID]*user
	keys        map[string]*apiKey // by secret
	tokens      map[string]uuid.UUID
	assets      map[uuid.UUID]*assetRec
	byChecksum  map[string][]uuid.UUID // checksumKey -> asset ids in upload order
	order       []uuid.UUID            // upload order
	albums      map[uuid.UUID]*albumRec
	albumOrder  []uuid.UUID
	links       map[uuid.UUID]*linkRec
	defaultUser uuid.UUID
	defaultKey  string
	thumbs      map[thumbKey][]byte
	metadata    map[uuid.UUID][]metadataItem // by asset id, in key order
	seq         int64
}

type config struct {
	addr     string
	dataDir  string
	specFile string
	faults   Faults
	apiKey   string
}

// Option configures a Server created by NewServer.
type Option func(*config)

// WithAddr makes the server listen on addr (for example "127.0.0.1:2283")
// instead of a random loopback port. NewServer panics when addr cannot be
// listened on.
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithDataDir stores uploaded bodies as files in dir instead of memory.
// Bodies are streamed to disk while they arrive (into dir/parts), so the
// server's heap does not grow with the size of an upload, then moved to
// dir/ID[0:2]/ID[2:4]/ID.EXT, as Immich lays out its upload folder: a
// single folder of 100,000 files made every new file cost a millisecond of
// the kernel's time. Files of deleted assets are removed.
func WithDataDir(dir string) Option { return func(c *config) { c.dataDir = dir } }

// WithSpecFile validates traffic against the Immich OpenAPI spec in the JSON
// file at path (for example an Immich 2.x release's spec) instead of the
// embedded, pinned one. NewServer panics when the file cannot be loaded.
func WithSpecFile(path string) Option { return func(c *config) { c.specFile = path } }

// WithAPIKey sets the secret of the default user's all-permission API key
// (APIKey), for example to start a fake server with a key known in advance.
// By default the key is random.
func WithAPIKey(key string) Option { return func(c *config) { c.apiKey = key } }

// WithFaults makes the server misbehave as f describes from the start.
func WithFaults(f Faults) Option { return func(c *config) { c.faults = f } }

// NewServer starts a fake Immich server on a loopback address with one admin
// user (DefaultEmail, DefaultPassword) and one API key of that user with all
// permissions (APIKey). It panics when Start would fail (spec not loadable,
// address not free, data dir not creatable), like httptest.NewServer. Call
// Close when done.
func NewServer(opts ...Option) *Server {
	s, err := Start(opts...)
	if err != nil {
		panic(err.Error())
	}
	return s
}

// Start is NewServer returning an error instead of panicking, for programs
// (such as a standalone fake server) that take the options from users.
func Start(opts ...Option) (*Server, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	spec, err := loadSpec(cfg.specFile)
	if err != nil {
		return nil, fmt.Errorf("immichtest: %w", err)
	}
	if cfg.dataDir != "" {
		if err := os.MkdirAll(filepath.Join(cfg.dataDir, partDir), 0o700); err != nil {
			return nil, fmt.Errorf("immichtest: data dir: %w", err)
		}
	}
	var ln net.Listener
	if cfg.addr != "" {
		if ln, err = net.Listen("tcp", cfg.addr); err != nil {
			return nil, fmt.Errorf("immichtest: %w", err)
		}
	}
	s := &Server{
		cfg:        cfg,
		spec:       spec,
		done:       make(chan struct{}),
		counts:     map[string]int{},
		users:      map[uuid.UUID]*user{},
		keys:       map[string]*apiKey{},
		tokens:     map[string]uuid.UUID{},
		assets:     map[uuid.UUID]*assetRec{},
		byChecksum: map[string][]uuid.UUID{},
		albums:     map[uuid.UUID]*albumRec{},
		links:      map[uuid.UUID]*linkRec{},
		thumbs:     map[thumbKey][]byte{},
		metadata:   map[uuid.UUID][]metadataItem{},
	}
	fmt.Sscanf(spec.Info.Version, "%d.%d.%d", &s.version[0], &s.version[1], &s.version[2])
	s.setFaultsLocked(cfg.faults)
	u := s.addUserLocked(DefaultEmail, DefaultPassword, DefaultName, true)
	s.defaultUser = u.id
	s.defaultKey = s.addKeyLocked(u.id, "immichtest", []string{"all"})
	if cfg.apiKey != "" {
		k := s.keys[s.defaultKey]
		delete(s.keys, s.defaultKey)
		k.secret, s.defaultKey = cfg.apiKey, cfg.apiKey
		s.keys[k.secret] = k
	}

	s.ts = httptest.NewUnstartedServer(s.buildMux())
	if ln != nil {
		s.ts.Listener.Close()
		s.ts.Listener = ln
	}
	s.ts.Start()
	return s, nil
}

// specCache holds parsed specs by the SHA-256 of their JSON ("" for the
// embedded one): parsing takes a fraction of a second, and a parsed spec is
// only read afterwards, so servers share it.
var specCache sync.Map // string -> *openapi3.T

func loadSpec(path string) (*openapi3.T, error) {
	key := ""
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("spec file: %w", err)
		}
		sum := sha256.Sum256(data)
		key = hex.EncodeToString(sum[:])
	}
	if v, ok := specCache.Load(key); ok {
		return v.(*openapi3.T), nil
	}
	spec, err := parseSpec(path, data)
	if err != nil {
		return nil, err
	}
	v, _ := specCache.LoadOrStore(key, spec)
	return v.(*openapi3.T), nil
}

func parseSpec(path string, data []byte) (*openapi3.T, error) {
	if path == "" {
		spec, err := apispec.GetSpec()
		if err != nil {
			return nil, fmt.Errorf("embedded spec: %w", err)
		}
		return spec, nil
	}
	// Immich publishes JSON; decoding it as JSON and then resolving the
	// references is several times faster than the loader's YAML path.
	spec := &openapi3.T{}
	if err := json.Unmarshal(data, spec); err != nil {
		return nil, fmt.Errorf("spec file %s: %w", path, err)
	}
	if err := openapi3.NewLoader().ResolveRefsIn(spec, nil); err != nil {
		return nil, fmt.Errorf("spec file %s: %w", path, err)
	}
	// Immich's published specs do not pass kin-openapi's strict document
	// validation (e.g. an "in" on the http bearer scheme); they are used
	// as they are, like the embedded one.
	return spec, nil
}

// URL returns the API base URL, including "/api", for example
// "http://127.0.0.1:41234/api".
func (s *Server) URL() string { return s.ts.URL + "/api" }

// APIKey returns an API key of the default user with all permissions, to be
// sent in the x-api-key header.
func (s *Server) APIKey() string { return s.defaultKey }

// Client returns an *http.Client that talks to the server; it is the
// httptest client and is closed with the server.
func (s *Server) Client() *http.Client { return s.ts.Client() }

// SpecVersion returns the Immich release of the spec the server validates
// against, for example "3.0.3".
func (s *Server) SpecVersion() string { return s.spec.Info.Version }

// Close stops the server, cuts open connections, ends any injected stall and
// waits for running handlers to return. It is idempotent. Files written under
// WithDataDir stay where they are.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.ts.CloseClientConnections()
		s.ts.Close()
	})
}

// sleep waits for d, or until ctx ends or the server closes; it reports
// whether the full time passed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// ---- users and keys ----

type user struct {
	id        uuid.UUID
	email     string
	password  string
	name      string
	isAdmin   bool
	createdAt time.Time
}

type apiKey struct {
	id          uuid.UUID
	userID      uuid.UUID
	name        string
	secret      string
	permissions []string
	createdAt   time.Time
}

func (s *Server) addUserLocked(email, password, name string, admin bool) *user {
	u := &user{id: uuid.New(), email: email, password: password, name: name, isAdmin: admin, createdAt: now()}
	s.users[u.id] = u
	return u
}

func (s *Server) addKeyLocked(userID uuid.UUID, name string, perms []string) string {
	secret := randomSecret(32)
	s.keys[secret] = &apiKey{id: uuid.New(), userID: userID, name: name, secret: secret, permissions: perms, createdAt: now()}
	return secret
}

// AddUser creates another (non-admin) user and returns its id and an API key
// with all permissions. Assets of different users are invisible to each
// other, as in Immich.
func (s *Server) AddUser(email, password, name string) (uuid.UUID, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.addUserLocked(email, password, name, false)
	return u.id, s.addKeyLocked(u.id, "immichtest", []string{"all"})
}

// NewAPIKey creates an API key of the default user limited to permissions
// (Immich permission names such as "asset.upload"; "all" grants every one)
// and returns its secret.
func (s *Server) NewAPIKey(name string, permissions ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addKeyLocked(s.defaultUser, name, append([]string(nil), permissions...))
}

// DefaultUserID returns the id of the user created by NewServer.
func (s *Server) DefaultUserID() uuid.UUID { return s.defaultUser }

func randomSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// now returns the current time at millisecond precision, as Immich's
// database stores it.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// ---- inspection ----

// ValidationFailure is a request the spec rejected, a response of the fake
// that the spec rejected (Response true; that is a bug of the fake), or a
// request the fake answered 501 because it does not implement the operation
// or one of the fields sent (Unimplemented true; a limit of the fake, which
// would otherwise make the test pass or fail for the wrong reason).
type ValidationFailure struct {
	OperationID string // "" when no operation of the spec matched the path
	Method      string
	Path        string
	Err         string
	Response    bool
	// Unimplemented is set for a 501: Err names the operation or field.
	Unimplemented bool
}

// RequestCount returns how many requests were routed to the operation
// (operationId of the spec, for example "uploadAsset"), including rejected
// and fault-injected ones.
func (s *Server) RequestCount(operationID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[operationID]
}

// RequestCounts returns the request count of every operation that was
// called at least once, by operationId.
func (s *Server) RequestCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// ValidationFailures returns a copy of the requests (and responses) that
// failed validation against the spec, in arrival order.
func (s *Server) ValidationFailures() []ValidationFailure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ValidationFailure(nil), s.failures...)
}

// BytesReceived returns how many request-body bytes the server has read.
func (s *Server) BytesReceived() int64 { return s.bytesIn.Load() }

func (s *Server) recordFailure(f ValidationFailure) {
	s.mu.Lock()
	s.failures = append(s.failures, f)
	s.mu.Unlock()
}

// Albums returns a snapshot of all albums in creation order.
func (s *Server) Albums() []Album {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Album, 0, len(s.albumOrder))
	for _, id := range s.albumOrder {
		if a, ok := s.albums[id]; ok {
			out = append(out, Album{ID: a.id, Name: a.name, AssetIDs: append([]uuid.UUID(nil), a.assetIDs...)})
		}
	}
	return out
}

// Album is an album as the server holds it.
type Album struct {
	ID       uuid.UUID
	Name     string
	AssetIDs []uuid.UUID // in the order they were added
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func lower(s string) string { return strings.ToLower(s) }
