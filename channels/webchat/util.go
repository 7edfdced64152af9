package webchat

import "go.mongodb.org/mongo-driver/v2/mongo/options"

func optionsUpsert() *options.ReplaceOptionsBuilder { return options.Replace().SetUpsert(true) }
