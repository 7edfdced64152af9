package search

import (
	"log/slog"
	"os"
	"path/filepath"
)

// Config selects and configures the backend.
type Config struct {
	// DataDir is the hub's data folder; the embedded index lives in
	// DataDir/kb-index.
	DataDir string
	// MeiliURL, when set, selects Meilisearch (HUB_MEILI_URL).
	MeiliURL string
	// MeiliKey is Meilisearch's API key (HUB_MEILI_KEY).
	MeiliKey string
	// MeiliIndexPrefix starts index uids (default "hub_kb_").
	MeiliIndexPrefix string
	Logger           *slog.Logger
}

// ConfigFromEnv fills the Meilisearch fields from HUB_MEILI_URL and
// HUB_MEILI_KEY where c leaves them empty.
func (c Config) ConfigFromEnv() Config {
	if c.MeiliURL == "" {
		c.MeiliURL = os.Getenv("HUB_MEILI_URL")
	}
	if c.MeiliKey == "" {
		c.MeiliKey = os.Getenv("HUB_MEILI_KEY")
	}
	return c
}

// Open returns the configured backend: Meilisearch when MeiliURL is set,
// otherwise the embedded index persisted under DataDir (in memory when
// DataDir is empty).
func Open(c Config) (Index, error) {
	if c.MeiliURL != "" {
		return NewMeili(MeiliOptions{URL: c.MeiliURL, Key: c.MeiliKey, IndexPrefix: c.MeiliIndexPrefix})
	}
	dir := ""
	if c.DataDir != "" {
		dir = filepath.Join(c.DataDir, "kb-index")
	}
	return NewEngine(Options{Dir: dir, Logger: c.Logger})
}
