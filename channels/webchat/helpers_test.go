package webchat_test

import "context"

type contextT = context.Context
