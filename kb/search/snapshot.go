package search

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/omnihub/hub/kb/zh"
)

// snapshotFormat changes whenever the snapshot layout or the meaning of its
// analyses changes; a snapshot of another format is re-analysed on load.
const snapshotFormat = 5

// snapshot is the persisted form of a shard: the documents, the admin
// synonyms, and each document's analysis with terms interned, so loading
// needs no segmentation when the lexicon has not changed.
type snapshot struct {
	Format   int
	Tenant   string
	Lexicon  string // zh.Lexicon.Version() the analyses were made with
	Synonyms [][]string
	Checksum uint64
	Terms    []string
	Docs     []snapDoc
}

type snapDoc struct {
	Doc Document
	Q   []snapAnalysis
	A   snapAnalysis
	M   snapAnalysis
}

// snapAnalysis holds, per channel, pairs of (term index, weight).
type snapAnalysis struct {
	Terms   [zh.NumChannels][]uint32
	Weights [zh.NumChannels][]float32
}

func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create kb index dir: %w", err)
	}
	return nil
}

func numWorkers() int { return max(1, runtime.GOMAXPROCS(0)) }

func snapshotPath(dir, tenant string) string {
	h := sha256.Sum256([]byte(tenant))
	return filepath.Join(dir, "kb-"+hex.EncodeToString(h[:12])+".gob.gz")
}

// loadShard reads the tenant's snapshot from dir, if any. A snapshot written
// with another lexicon or format is re-analysed from its stored documents; a
// missing or unreadable one yields an empty shard (the service then sees a
// checksum mismatch and rebuilds from the store).
func loadShard(dir, tenant string, params *Params) (*shard, error) {
	base, err := zh.NewAnalyzer(nil)
	if err != nil {
		return nil, err
	}
	s := newShard(tenant, params, base)
	if dir == "" {
		return s, nil
	}
	snap, err := readSnapshot(snapshotPath(dir, tenant))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil || snap.Tenant != tenant {
		// A corrupt snapshot is not fatal: the index is derived data.
		return s, nil
	}
	an := base
	if len(snap.Synonyms) > 0 {
		if an, err = zh.NewAnalyzer(zh.Base().WithSynonyms(snap.Synonyms)); err != nil {
			return nil, err
		}
	}
	s.an, s.synonyms = an, snap.Synonyms
	if snap.Format == snapshotFormat && snap.Lexicon == an.Lexicon().Version() {
		for i := range snap.Docs {
			d := &snap.Docs[i]
			s.putLocked(&d.Doc, d.expand(snap.Terms))
		}
		return s, nil
	}
	docs := make([]Document, len(snap.Docs))
	for i := range snap.Docs {
		docs[i] = snap.Docs[i].Doc
	}
	ana := analyzeWith(context.Background(), an, docs)
	for i := range docs {
		s.putLocked(&docs[i], ana[i])
	}
	s.dirty = true
	return s, nil
}

func readSnapshot(path string) (*snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, err
	}
	var snap snapshot
	if err := gob.NewDecoder(zr).Decode(&snap); err != nil {
		return nil, err
	}
	return &snap, nil
}

func (d *snapDoc) expand(terms []string) docAnalysis {
	var da docAnalysis
	da.Q = make([]zh.Analysis, len(d.Q))
	for i := range d.Q {
		da.Q[i] = d.Q[i].expand(terms)
	}
	da.A = d.A.expand(terms)
	da.M = d.M.expand(terms)
	return da
}

func (a *snapAnalysis) expand(terms []string) zh.Analysis {
	var out zh.Analysis
	for c := range a.Terms {
		if len(a.Terms[c]) == 0 {
			continue
		}
		ts := make([]zh.Term, len(a.Terms[c]))
		for i, ti := range a.Terms[c] {
			ts[i] = zh.Term{Key: terms[ti], W: a.Weights[c][i]}
		}
		out.Channels[c] = ts
	}
	return out
}

type interner struct {
	idx   map[string]uint32
	terms []string
}

func (in *interner) analysis(a *zh.Analysis) snapAnalysis {
	var out snapAnalysis
	for c := range a.Channels {
		for _, t := range a.Channels[c] {
			i, ok := in.idx[t.Key]
			if !ok {
				i = uint32(len(in.terms))
				in.idx[t.Key] = i
				in.terms = append(in.terms, t.Key)
			}
			out.Terms[c] = append(out.Terms[c], i)
			out.Weights[c] = append(out.Weights[c], t.W)
		}
	}
	return out
}

// flush writes the shard to dir if it changed since the last flush. The file
// is replaced atomically (write to a temporary file, then rename).
func (s *shard) flush(dir string) error {
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	snap := snapshot{
		Format:   snapshotFormat,
		Tenant:   s.tenant,
		Lexicon:  s.an.Lexicon().Version(),
		Synonyms: s.synonyms,
		Checksum: s.checksum,
	}
	in := interner{idx: map[string]uint32{}}
	for _, r := range s.revs {
		if r.dead {
			continue
		}
		sd := snapDoc{Doc: r.doc, A: in.analysis(&r.ana.A), M: in.analysis(&r.ana.M)}
		for i := range r.ana.Q {
			sd.Q = append(sd.Q, in.analysis(&r.ana.Q[i]))
		}
		snap.Docs = append(snap.Docs, sd)
	}
	snap.Terms = in.terms
	s.dirty = false
	s.mu.Unlock()

	if err := writeSnapshot(snapshotPath(dir, s.tenant), &snap); err != nil {
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
		return err
	}
	return nil
}

func writeSnapshot(path string, snap *snapshot) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kb-snapshot-*")
	if err != nil {
		return fmt.Errorf("write kb snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<16)
	zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	if err = gob.NewEncoder(zw).Encode(snap); err != nil {
		return fmt.Errorf("encode kb snapshot: %w", err)
	}
	if err = zw.Close(); err != nil {
		return fmt.Errorf("write kb snapshot: %w", err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write kb snapshot: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write kb snapshot: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write kb snapshot: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write kb snapshot: %w", err)
	}
	return nil
}
