// Package config holds the hub's settings: defaults, an optional YAML file
// (strict: unknown keys are refused), HUB_* environment overrides, and
// validation that names the bad key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is every setting of the hub. Each field has a YAML key (its yaml
// tag) and an environment variable (HUB_ + the key in upper case).
type Config struct {
	HTTPAddr      string        `yaml:"http_addr" help:"HTTP listen address (API, web UI, WebSockets)" default:":8080"`
	PublicURL     string        `yaml:"public_url" help:"URL people use to reach the hub, printed at start and used in links; empty: derived from http_addr" default:""`
	DataDir       string        `yaml:"data_dir" help:"folder for the embedded store and other local files" default:"./data"`
	MongoDBURI    string        `yaml:"mongodb_uri" help:"MongoDB URI; empty starts the embedded MongoDB-compatible store in data_dir" default:""`
	EmbeddedSync  string        `yaml:"embedded_sync" help:"durability of the embedded store: full (every commit synced to disk) or normal (survives a crash of the hub, not of the machine)" default:"full"`
	MeiliURL      string        `yaml:"meili_url" help:"Meilisearch URL for knowledge-base search; empty: the embedded index in data_dir" default:""`
	MeiliKey      string        `yaml:"meili_key" help:"Meilisearch API key" default:"" secret:"true"`
	AdminUser     string        `yaml:"admin_user" help:"username of the first admin, created on first start" default:"admin"`
	AdminPassword string        `yaml:"admin_password" help:"password of the first admin; empty: generated and printed once" default:"" secret:"true"`
	LogFormat     string        `yaml:"log_format" help:"log format: text or json" default:"text"`
	LogLevel      string        `yaml:"log_level" help:"log level: debug, info, warn or error" default:"info"`
	SessionTTL    time.Duration `yaml:"session_ttl" help:"how long a login stays valid" default:"12h"`
	CookieSecure  bool          `yaml:"cookie_secure" help:"mark the session cookie Secure (set when served over HTTPS)" default:"false"`
	DebugAddr     string        `yaml:"debug_addr" help:"address of the Go profiler (net/http/pprof) for diagnosing load; empty: off. Keep it on loopback" default:""`
	ShutdownGrace time.Duration `yaml:"shutdown_grace" help:"how long a graceful shutdown waits for requests and connections to drain" default:"15s"`
	MetricsAddr   string        `yaml:"metrics_addr" help:"address of the Prometheus /metrics endpoint, apart from the public HTTP address; empty: off. Keep it on loopback or a private network" default:"127.0.0.1:9464"`
	// TrustedProxies and AllowedOrigins are comma-separated lists.
	TrustedProxies string        `yaml:"trusted_proxies" help:"comma-separated addresses or CIDRs of reverse proxies allowed to set X-Forwarded-For (the client address used for login throttling and logs); empty: none, the connection's address is used" default:""`
	AllowedOrigins string        `yaml:"allowed_origins" help:"comma-separated web origins (https://shop.example.com) besides public_url whose pages may open the hub's sockets and embed the chat widget" default:""`
	PresenceGrace  time.Duration `yaml:"presence_grace" help:"how long an agent whose live connection dropped (or who has not reconnected after a restart of the hub) keeps their work before being signed out; no new work is offered meanwhile" default:"30s"`
	UploadSlots    int           `yaml:"upload_slots" help:"how many large uploads (files, imports) the hub receives at once; more wait, then get 503" default:"8"`
}

// List splits a comma-separated setting into its trimmed, non-empty items.
func List(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Default returns the settings used when nothing is configured.
func Default() Config {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if err := setField(v.Field(i), f.Tag.Get("default")); err != nil {
			panic(fmt.Sprintf("config: default of %s: %v", f.Name, err))
		}
	}
	return c
}

// Error names the setting that is wrong.
type Error struct {
	Key    string // YAML key, e.g. "http_addr"
	Source string // "file", "env" or "" for validation
	Reason string
}

func (e *Error) Error() string {
	switch e.Source {
	case "env", "":
		return fmt.Sprintf("setting %s (%s): %s", e.Key, EnvName(e.Key), e.Reason)
	default:
		return fmt.Sprintf("setting %s in %s: %s", e.Key, e.Source, e.Reason)
	}
}

// EnvName is the environment variable for a YAML key.
func EnvName(key string) string { return "HUB_" + strings.ToUpper(key) }

// Load builds the configuration: defaults, then the YAML file at path (if
// path is not empty), then the environment (lookup, normally os.LookupEnv),
// then validation.
func Load(path string, lookup func(string) (string, bool)) (Config, error) {
	c := Default()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config file: %w", err)
		}
		if err := decodeYAML(b, path, &c); err != nil {
			return c, err
		}
	}
	if err := applyEnv(&c, lookup); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func decodeYAML(b []byte, path string, c *Config) error {
	// Decode into a map first so every key and value error names the key.
	var raw map[string]yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	v := reflect.ValueOf(c).Elem()
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		idx, ok := fieldIndex(k)
		if !ok {
			return &Error{Key: k, Source: path, Reason: "unknown setting (see hub -help)"}
		}
		node := raw[k]
		if node.Kind != yaml.ScalarNode {
			return &Error{Key: k, Source: path, Reason: "must be a single value"}
		}
		if err := setField(v.Field(idx), node.Value); err != nil {
			return &Error{Key: k, Source: path, Reason: err.Error()}
		}
	}
	return nil
}

func applyEnv(c *Config, lookup func(string) (string, bool)) error {
	if lookup == nil {
		return nil
	}
	v := reflect.ValueOf(c).Elem()
	for i := 0; i < v.NumField(); i++ {
		key := v.Type().Field(i).Tag.Get("yaml")
		s, ok := lookup(EnvName(key))
		if !ok {
			continue
		}
		if err := setField(v.Field(i), s); err != nil {
			return &Error{Key: key, Source: "env", Reason: err.Error()}
		}
	}
	return nil
}

func fieldIndex(key string) (int, bool) {
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("yaml") == key {
			return i, true
		}
	}
	return 0, false
}

func setField(f reflect.Value, s string) error {
	switch f.Interface().(type) {
	case string:
		f.SetString(s)
	case bool:
		if s == "" {
			f.SetBool(false)
			return nil
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		f.SetBool(b)
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30s or 12h", s)
		}
		f.SetInt(int64(d))
	case int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		f.SetInt(int64(n))
	default:
		return fmt.Errorf("unsupported type %s", f.Type())
	}
	return nil
}

// Validate checks every setting and names the first bad one.
func (c Config) Validate() error {
	if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil || port == "" {
		return &Error{Key: "http_addr", Reason: fmt.Sprintf("%q is not host:port (for example :8080 or 127.0.0.1:8080)", c.HTTPAddr)}
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return &Error{Key: "http_addr", Reason: fmt.Sprintf("port %q is not 0-65535", port)}
	}
	if c.DataDir == "" && c.MongoDBURI == "" {
		return &Error{Key: "data_dir", Reason: "must not be empty when mongodb_uri is empty"}
	}
	if c.MongoDBURI != "" && !strings.HasPrefix(c.MongoDBURI, "mongodb://") && !strings.HasPrefix(c.MongoDBURI, "mongodb+srv://") {
		return &Error{Key: "mongodb_uri", Reason: "must start with mongodb:// or mongodb+srv://"}
	}
	if c.EmbeddedSync != "full" && c.EmbeddedSync != "normal" {
		return &Error{Key: "embedded_sync", Reason: fmt.Sprintf("%q is not full or normal", c.EmbeddedSync)}
	}
	if c.MeiliURL != "" && !strings.HasPrefix(c.MeiliURL, "http://") && !strings.HasPrefix(c.MeiliURL, "https://") {
		return &Error{Key: "meili_url", Reason: "must start with http:// or https://"}
	}
	if c.PublicURL != "" && !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		return &Error{Key: "public_url", Reason: "must start with http:// or https://"}
	}
	if strings.TrimSpace(c.AdminUser) == "" {
		return &Error{Key: "admin_user", Reason: "must not be empty"}
	}
	if c.AdminPassword != "" && len(c.AdminPassword) < 8 {
		return &Error{Key: "admin_password", Reason: "must be at least 8 characters"}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return &Error{Key: "log_format", Reason: fmt.Sprintf("%q is not text or json", c.LogFormat)}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return &Error{Key: "log_level", Reason: fmt.Sprintf("%q is not debug, info, warn or error", c.LogLevel)}
	}
	if c.DebugAddr != "" {
		if _, _, err := net.SplitHostPort(c.DebugAddr); err != nil {
			return &Error{Key: "debug_addr", Reason: fmt.Sprintf("%q is not host:port", c.DebugAddr)}
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return &Error{Key: "metrics_addr", Reason: fmt.Sprintf("%q is not host:port (for example 127.0.0.1:9464)", c.MetricsAddr)}
		}
	}
	for _, p := range List(c.TrustedProxies) {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				return &Error{Key: "trusted_proxies", Reason: fmt.Sprintf("%q is not an IP address or CIDR such as 10.0.0.0/8", p)}
			}
		}
	}
	for _, o := range List(c.AllowedOrigins) {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return &Error{Key: "allowed_origins", Reason: fmt.Sprintf("%q is not an origin such as https://shop.example.com", o)}
		}
	}
	if c.PresenceGrace < time.Second {
		return &Error{Key: "presence_grace", Reason: "must be at least 1s"}
	}
	if c.UploadSlots < 1 {
		return &Error{Key: "upload_slots", Reason: "must be at least 1"}
	}
	if c.SessionTTL < time.Minute {
		return &Error{Key: "session_ttl", Reason: "must be at least 1m"}
	}
	if c.ShutdownGrace < 0 {
		return &Error{Key: "shutdown_grace", Reason: "must not be negative"}
	}
	return nil
}

// Setting describes one setting for help output and documentation.
type Setting struct {
	Key, Env, Default, Help string
}

// Settings lists every setting in declaration order.
func Settings() []Setting {
	t := reflect.TypeOf(Config{})
	out := make([]Setting, 0, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := f.Tag.Get("yaml")
		out = append(out, Setting{Key: key, Env: EnvName(key), Default: f.Tag.Get("default"), Help: f.Tag.Get("help")})
	}
	return out
}

// Usage writes the settings table for `hub -help`.
func Usage(w io.Writer) {
	fmt.Fprintf(w, "Settings (YAML key in the -config file / environment variable; the environment wins):\n\n")
	for _, s := range Settings() {
		def := s.Default
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  %-15s %-20s default %s\n      %s\n", s.Key, s.Env, def, s.Help)
	}
}
