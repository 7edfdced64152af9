package kb

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/omnihub/hub/kb/search"
	"github.com/omnihub/hub/kb/zh"
)

// ArticleID identifies an FAQ article (a time-ordered id, unique across
// tenants).
type ArticleID string

// Content is the part of an article that editors write; each version in the
// history keeps a copy of it.
type Content struct {
	Question string   `bson:"question" json:"question"`
	Similar  []string `bson:"similar_questions" json:"similar_questions"`
	// Answer is sanitised rich text (see SanitizeHTML).
	Answer   string   `bson:"answer" json:"answer"`
	Category string   `bson:"category" json:"category"`
	Tags     []string `bson:"tags" json:"tags"`
	Enabled  bool     `bson:"enabled" json:"enabled"`
	// ValidFrom and ValidTo bound when customers and the bot see the
	// article; nil means unbounded.
	ValidFrom *time.Time `bson:"valid_from,omitempty" json:"valid_from,omitempty"`
	ValidTo   *time.Time `bson:"valid_to,omitempty" json:"valid_to,omitempty"`
}

// Article is an FAQ article as stored in kb_articles.
type Article struct {
	ID      ArticleID `bson:"_id" json:"id"`
	Content `bson:",inline"`
	// QKey is the normalised question, the identity imports match on.
	QKey          string    `bson:"qkey" json:"-"`
	CreatedBy     string    `bson:"created_by" json:"created_by"`
	CreatedByName string    `bson:"created_by_name,omitempty" json:"created_by_name,omitempty"`
	CreatedAt     time.Time `bson:"created_at" json:"created_at"`
	UpdatedBy     string    `bson:"updated_by" json:"updated_by"`
	UpdatedByName string    `bson:"updated_by_name,omitempty" json:"updated_by_name,omitempty"`
	UpdatedAt     time.Time `bson:"updated_at" json:"updated_at"`
	// Version starts at 1 and grows by one per saved change.
	Version    int   `bson:"version" json:"version"`
	Helpful    int64 `bson:"helpful" json:"helpful"`
	NotHelpful int64 `bson:"not_helpful" json:"not_helpful"`
}

// ActiveAt reports whether customers and the bot may see the article at t.
func (a *Article) ActiveAt(t time.Time) bool {
	if !a.Enabled {
		return false
	}
	if a.ValidFrom != nil && t.Before(*a.ValidFrom) {
		return false
	}
	return a.ValidTo == nil || !t.After(*a.ValidTo)
}

// ArticleInput is what an editor sends to create or replace an article.
type ArticleInput struct {
	Question string   `json:"question"`
	Similar  []string `json:"similar_questions"`
	// Answer is rich text; unsafe HTML is removed when it is saved.
	Answer   string   `json:"answer"`
	Category string   `json:"category"`
	Tags     []string `json:"tags"`
	// Enabled defaults to true on create and to the current value on
	// update.
	Enabled   *bool      `json:"enabled,omitempty"`
	ValidFrom *time.Time `json:"valid_from,omitempty"`
	ValidTo   *time.Time `json:"valid_to,omitempty"`
	// Version, when set on update, must be the version the editor loaded
	// (optimistic locking): otherwise the update fails with
	// ErrVersionConflict.
	Version int `json:"version,omitempty"`
}

// Revision is one saved version of an article (its key in the store is
// the article id and version).
type Revision struct {
	ArticleID ArticleID `bson:"article_id" json:"article_id"`
	Version   int       `bson:"version" json:"version"`
	// Action is "created", "updated", "imported" or "deleted".
	Action     string    `bson:"action" json:"action"`
	Editor     string    `bson:"editor" json:"editor"`
	EditorName string    `bson:"editor_name,omitempty" json:"editor_name,omitempty"`
	At         time.Time `bson:"at" json:"at"`
	Content    Content   `bson:"content" json:"content"`
}

// Revision actions.
const (
	ActionCreated  = "created"
	ActionUpdated  = "updated"
	ActionImported = "imported"
	ActionDeleted  = "deleted"
)

// Editor is who makes a change; handlers put it in the context with
// WithEditor.
type Editor struct {
	ID   string
	Name string
}

type editorKey struct{}

// WithEditor returns ctx carrying the editor recorded on articles and their
// history.
func WithEditor(ctx context.Context, e Editor) context.Context {
	return context.WithValue(ctx, editorKey{}, e)
}

func editorOf(ctx context.Context) Editor {
	if e, ok := ctx.Value(editorKey{}).(Editor); ok && e.ID != "" {
		return e
	}
	return Editor{ID: "system", Name: "system"}
}

// qkeyOf is a question's identity for duplicate detection and import
// matching: width, case, traditional characters, punctuation and spacing do
// not matter.
func qkeyOf(q string) string { return zh.Normalize(q) }

// validate normalises in into content, naming the bad field on error.
func (in *ArticleInput) content(enabledDefault bool) (Content, error) {
	rec := Record{Question: in.Question, Similar: in.Similar, Answer: in.Answer, Category: in.Category, Tags: in.Tags}
	if err := rec.Normalize(); err != nil {
		var re *RowError
		if errors.As(err, &re) {
			return Content{}, &FieldError{Field: re.Field, Reason: re.Reason}
		}
		return Content{}, err
	}
	if qkeyOf(rec.Question) == "" {
		return Content{}, fieldErr("question", "has no letters or digits")
	}
	c := Content{Question: rec.Question, Similar: nonNil(rec.Similar), Category: rec.Category, Tags: nonNil(rec.Tags), Enabled: enabledDefault}
	var err error
	if c.Answer, err = cleanAnswer(rec.Answer); err != nil {
		return Content{}, err
	}
	if in.Enabled != nil {
		c.Enabled = *in.Enabled
	}
	c.ValidFrom, c.ValidTo = msUTC(in.ValidFrom), msUTC(in.ValidTo)
	if c.ValidFrom != nil && c.ValidTo != nil && !c.ValidTo.After(*c.ValidFrom) {
		return Content{}, fieldErr("valid_to", "must be after valid_from")
	}
	return c, nil
}

// cleanAnswer sanitises an answer and checks it still says something.
func cleanAnswer(a string) (string, error) {
	s := SanitizeHTML(a)
	if s == "" || zh.Normalize(zh.StripHTML(s)) == "" && !containsImage(s) {
		return "", fieldErr("answer", "is empty once unsafe HTML is removed")
	}
	if utf8.RuneCountInString(s) > MaxAnswerLen {
		return "", fieldErr("answer", "longer than %d characters", MaxAnswerLen)
	}
	return s, nil
}

func containsImage(s string) bool { return strings.Contains(s, "<img ") }

// msUTC rounds a time to what the store keeps (milliseconds, UTC).
func msUTC(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := t.UTC().Truncate(time.Millisecond)
	return &v
}

func (c *Content) equal(o *Content) bool {
	return c.Question == o.Question && slices.Equal(c.Similar, o.Similar) && c.Answer == o.Answer &&
		c.Category == o.Category && slices.Equal(c.Tags, o.Tags) && c.Enabled == o.Enabled &&
		timeEq(c.ValidFrom, o.ValidFrom) && timeEq(c.ValidTo, o.ValidTo)
}

func timeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// disabledUntil is the validity end given to a disabled article's index
// document: always in the past, so the index's own validity filter hides it
// from customers and the bot (on both backends, and across replicas sharing
// a Meilisearch), while an administrator's search (IncludeInactive) still
// finds it.
var disabledUntil = time.Unix(1, 0).UTC()

// document is the index form of an article. It must depend only on stored
// fields: the index's checksum is compared with the store's through it.
func (a *Article) document() search.Document {
	d := search.Document{ID: string(a.ID), Question: a.Question, Similar: a.Similar, Answer: a.Answer, Category: a.Category, Tags: a.Tags}
	if a.ValidFrom != nil {
		d.ValidFrom = *a.ValidFrom
	}
	if a.ValidTo != nil {
		d.ValidTo = *a.ValidTo
	}
	if !a.Enabled {
		d.ValidFrom, d.ValidTo = time.Time{}, disabledUntil
	}
	return d
}
