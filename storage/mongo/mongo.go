// Package mongo holds the MongoDB backend of every domain's store interface
// (go.mongodb.org/mongo-driver/v2 through internal/store, which adds the
// tenant to every filter and document), used when HUB_MONGODB_URI is set:
// several hub nodes, replica-set high availability. Each domain's indexes
// are created at start.
//
// One file per domain (history.go, accounts.go, routing.go, kb.go,
// webchat.go, ...). Tests run the domains' contract suites against a MongoDB
// wire-protocol stand-in (internal/store/storetest) and against a real
// MongoDB when HUB_TEST_MONGODB_URI is set.
package mongo
