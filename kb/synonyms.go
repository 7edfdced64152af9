package kb

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on a tenant's synonym groups.
const (
	MaxSynonymGroups = 1000
	MaxSynonymTerms  = 30 // per group
	MaxSynonymLen    = 32 // runes per term
)

// Synonyms are a tenant's own groups of equivalent terms (交费, 缴费, 付费),
// merged on top of the shipped lexicon when indexing and searching.
type Synonyms struct {
	Groups        [][]string `json:"groups"`
	UpdatedBy     string     `json:"updated_by,omitempty"`
	UpdatedByName string     `json:"updated_by_name,omitempty"`
	UpdatedAt     *time.Time `json:"updated_at,omitempty"`
}

func (s *Service) loadSynonyms(ctx context.Context) ([][]string, *Synonyms, error) {
	d, err := s.b.Synonyms(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("kb: load synonyms: %w", err)
	}
	if d == nil {
		return nil, nil, nil
	}
	return d.Groups, d, nil
}

// Synonyms returns the tenant's synonym groups.
func (s *Service) Synonyms(ctx context.Context) (*Synonyms, error) {
	if _, _, err := s.tenant(ctx); err != nil {
		return nil, err
	}
	_, d, err := s.loadSynonyms(ctx)
	if err != nil {
		return nil, err
	}
	out := &Synonyms{Groups: [][]string{}}
	if d != nil {
		out = d
		if out.Groups == nil {
			out.Groups = [][]string{}
		}
	}
	return out, nil
}

// SetSynonyms replaces the tenant's synonym groups and re-indexes the
// tenant's articles with them. Each group needs at least two different
// terms; blanks and repeats are dropped.
func (s *Service) SetSynonyms(ctx context.Context, groups [][]string) (*Synonyms, error) {
	clean, err := cleanSynonyms(groups)
	if err != nil {
		return nil, err
	}
	t, st, err := s.ready(ctx)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	ed, now := editorOf(ctx), s.now()
	out := &Synonyms{Groups: clean, UpdatedBy: ed.ID, UpdatedByName: ed.Name, UpdatedAt: &now}
	if err := s.b.SetSynonyms(ctx, out); err != nil {
		return nil, fmt.Errorf("kb: save synonyms: %w", err)
	}
	s.indexed(t, st, s.idx.SetSynonyms(ctx, string(t), clean))
	return out, nil
}

func cleanSynonyms(groups [][]string) ([][]string, error) {
	if len(groups) > MaxSynonymGroups {
		return nil, fieldErr("groups", "more than %d groups", MaxSynonymGroups)
	}
	out := make([][]string, 0, len(groups))
	for i, g := range groups {
		field := fmt.Sprintf("groups[%d]", i)
		if len(g) > MaxSynonymTerms {
			return nil, fieldErr(field, "more than %d terms", MaxSynonymTerms)
		}
		var terms []string
		seen := map[string]bool{}
		for j, w := range g {
			w = strings.TrimSpace(w)
			if w == "" {
				continue
			}
			if utf8.RuneCountInString(w) > MaxSynonymLen {
				return nil, fieldErr(fmt.Sprintf("%s[%d]", field, j), "longer than %d characters", MaxSynonymLen)
			}
			if k := qkeyOf(w); k != "" && !seen[k] {
				seen[k] = true
				terms = append(terms, w)
			}
		}
		if len(terms) == 0 {
			continue
		}
		if len(terms) < 2 {
			return nil, fieldErr(field, "needs at least two different terms")
		}
		out = append(out, terms)
	}
	return out, nil
}
