package mongo

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/omnihub/hub/internal/agentkit"
	"github.com/omnihub/hub/internal/store"
)

// AgentKit is the MongoDB backend of agentkit.Backend: collections
// quick_replies and disposition_codes.
type AgentKit struct {
	replies, codes *store.Collection
}

var _ agentkit.Backend = (*AgentKit)(nil)

// NewAgentKit creates the indexes and returns the backend.
func NewAgentKit(ctx context.Context, db *store.DB) (*AgentKit, error) {
	a := &AgentKit{replies: db.Collection("quick_replies"), codes: db.Collection("disposition_codes")}
	if err := a.replies.EnsureIndexes(ctx,
		mongo.IndexModel{Keys: bson.D{{Key: "tenant", Value: 1}, {Key: "owner", Value: 1}, {Key: "shortcut", Value: 1}}},
		mongo.IndexModel{Keys: bson.D{{Key: "tenant", Value: 1}, {Key: "team", Value: 1}, {Key: "shortcut", Value: 1}}},
	); err != nil {
		return nil, err
	}
	if err := a.codes.EnsureIndexes(ctx,
		mongo.IndexModel{Keys: bson.D{{Key: "tenant", Value: 1}, {Key: "order", Value: 1}, {Key: "purpose", Value: 1}}},
	); err != nil {
		return nil, err
	}
	return a, nil
}

// Replies implements agentkit.Backend.
func (a *AgentKit) Replies(ctx context.Context, owner string) ([]agentkit.QuickReply, error) {
	out := []agentkit.QuickReply{}
	f := bson.M{"$or": bson.A{bson.M{"team": true}, bson.M{"owner": owner}}}
	err := a.replies.FindAll(ctx, f, &out, options.Find().SetSort(bson.D{{Key: "shortcut", Value: 1}}))
	return out, err
}

// Reply implements agentkit.Backend.
func (a *AgentKit) Reply(ctx context.Context, id string) (*agentkit.QuickReply, error) {
	var r agentkit.QuickReply
	if err := a.replies.FindOne(ctx, bson.M{"_id": id}, &r); err != nil {
		return nil, store.NotFound(err, "quick reply", id)
	}
	return &r, nil
}

// InsertReply implements agentkit.Backend.
func (a *AgentKit) InsertReply(ctx context.Context, r agentkit.QuickReply) error {
	return a.replies.InsertOne(ctx, r)
}

// ReplaceReply implements agentkit.Backend.
func (a *AgentKit) ReplaceReply(ctx context.Context, r agentkit.QuickReply) error {
	res, err := a.replies.ReplaceOne(ctx, bson.M{"_id": r.ID}, r)
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return &store.NotFoundError{Kind: "quick reply", ID: r.ID}
	}
	return nil
}

// DeleteReply implements agentkit.Backend.
func (a *AgentKit) DeleteReply(ctx context.Context, id string) error {
	n, err := a.replies.DeleteOne(ctx, bson.M{"_id": id})
	if err == nil && n == 0 {
		return &store.NotFoundError{Kind: "quick reply", ID: id}
	}
	return err
}

// Codes implements agentkit.Backend.
func (a *AgentKit) Codes(ctx context.Context) ([]agentkit.DispositionCode, error) {
	out := []agentkit.DispositionCode{}
	err := a.codes.FindAll(ctx, nil, &out, options.Find().SetSort(bson.D{{Key: "order", Value: 1}, {Key: "purpose", Value: 1}}))
	return out, err
}

// InsertCode implements agentkit.Backend.
func (a *AgentKit) InsertCode(ctx context.Context, c agentkit.DispositionCode) error {
	return a.codes.InsertOne(ctx, c)
}

// ReplaceCode implements agentkit.Backend.
func (a *AgentKit) ReplaceCode(ctx context.Context, c agentkit.DispositionCode) error {
	res, err := a.codes.ReplaceOne(ctx, bson.M{"_id": c.ID}, c)
	if err != nil {
		return err
	}
	if res.MatchedCount == 0 {
		return &store.NotFoundError{Kind: "disposition code", ID: c.ID}
	}
	return nil
}

// DeleteCode implements agentkit.Backend.
func (a *AgentKit) DeleteCode(ctx context.Context, id string) error {
	n, err := a.codes.DeleteOne(ctx, bson.M{"_id": id})
	if err == nil && n == 0 {
		return &store.NotFoundError{Kind: "disposition code", ID: id}
	}
	return err
}
