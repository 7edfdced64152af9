package kb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/omnihub/hub/internal/store"
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

// synonymsDoc is the stored form: one document per tenant, groups as
// sub-documents because FerretDB does not store arrays of arrays.
type synonymsDoc struct {
	ID            string         `bson:"_id"`
	Groups        []synonymGroup `bson:"groups"`
	UpdatedBy     string         `bson:"updated_by"`
	UpdatedByName string         `bson:"updated_by_name"`
	UpdatedAt     time.Time      `bson:"updated_at"`
}

type synonymGroup struct {
	Terms []string `bson:"terms"`
}

// synonymsID is the tenant's synonyms document id (ids are unique across
// tenants, so it names the tenant).
func synonymsID(t store.TenantID) string { return "synonyms:" + string(t) }

func (s *Service) loadSynonyms(ctx context.Context) ([][]string, *synonymsDoc, error) {
	t, ok := store.Tenant(ctx)
	if !ok {
		return nil, nil, store.ErrNoTenant
	}
	var d synonymsDoc
	err := s.synonyms.FindOne(ctx, bson.M{"_id": synonymsID(t)}, &d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("kb: load synonyms: %w", err)
	}
	groups := make([][]string, 0, len(d.Groups))
	for _, g := range d.Groups {
		groups = append(groups, g.Terms)
	}
	return groups, &d, nil
}

// Synonyms returns the tenant's synonym groups.
func (s *Service) Synonyms(ctx context.Context) (*Synonyms, error) {
	if _, _, err := s.tenant(ctx); err != nil {
		return nil, err
	}
	groups, d, err := s.loadSynonyms(ctx)
	if err != nil {
		return nil, err
	}
	out := &Synonyms{Groups: groups}
	if out.Groups == nil {
		out.Groups = [][]string{}
	}
	if d != nil {
		out.UpdatedBy, out.UpdatedByName = d.UpdatedBy, d.UpdatedByName
		at := d.UpdatedAt
		out.UpdatedAt = &at
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
	sub := make([]synonymGroup, len(clean))
	for i, g := range clean {
		sub[i] = synonymGroup{Terms: g}
	}
	_, err = s.synonyms.UpdateOne(ctx, bson.M{"_id": synonymsID(t)},
		bson.M{"$set": bson.M{"groups": sub, "updated_by": ed.ID, "updated_by_name": ed.Name, "updated_at": now}},
		options.UpdateOne().SetUpsert(true))
	if err != nil {
		return nil, fmt.Errorf("kb: save synonyms: %w", err)
	}
	s.indexed(t, st, s.idx.SetSynonyms(ctx, string(t), clean))
	return &Synonyms{Groups: clean, UpdatedBy: ed.ID, UpdatedByName: ed.Name, UpdatedAt: &now}, nil
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
